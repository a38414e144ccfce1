#!/usr/bin/env python3
"""queue_status: see --help."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from imagegen.commands.queue_status import main  # noqa: E402

if __name__ == "__main__":
    raise SystemExit(main())
