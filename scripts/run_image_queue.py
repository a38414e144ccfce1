#!/usr/bin/env python3
"""run_image_queue: see --help."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from imagegen.commands.run_image_queue import main  # noqa: E402

if __name__ == "__main__":
    raise SystemExit(main())
