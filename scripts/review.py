#!/usr/bin/env python3
"""Review images with a vision model (or print the rubric for the calling agent).

Prints one JSON document. See --help.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from imagegen.commands.review import main  # noqa: E402

if __name__ == "__main__":
    raise SystemExit(main())
