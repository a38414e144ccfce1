#!/usr/bin/env python3
"""queue_and_return: see --help."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from imagegen.commands.queue_and_return import main  # noqa: E402

if __name__ == "__main__":
    raise SystemExit(main())
