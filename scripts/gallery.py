#!/usr/bin/env python3
"""Build an HTML contact sheet for a folder, a queue request or a manifest; prints JSON. See --help."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from imagegen.commands.gallery import main  # noqa: E402

if __name__ == "__main__":
    raise SystemExit(main())
