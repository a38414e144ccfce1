#!/usr/bin/env python3
"""Check keys, directories, presets, URLs and the queue; text, or JSON with --json. See --help."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from imagegen.commands.preflight_check import main  # noqa: E402

if __name__ == "__main__":
    raise SystemExit(main())
