#!/usr/bin/env python3
"""Generate an image through OpenRouter (generate.py with another default model); prints one JSON document."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from imagegen.commands.generate_image import main  # noqa: E402

if __name__ == "__main__":
    raise SystemExit(main())
