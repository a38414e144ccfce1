#!/usr/bin/env python3
"""List the image models image-gen knows, with capabilities and prices; prints JSON. See --help."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from imagegen.commands.models import main  # noqa: E402

if __name__ == "__main__":
    raise SystemExit(main())
