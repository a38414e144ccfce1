#!/usr/bin/env python3
"""enqueue_variants: see --help."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from imagegen.commands.enqueue_variants import main  # noqa: E402

if __name__ == "__main__":
    raise SystemExit(main())
