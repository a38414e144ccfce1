#!/usr/bin/env python3
"""Total the spending ledger by day, model and request id; prints JSON. See --help."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from imagegen.commands.spend import main  # noqa: E402

if __name__ == "__main__":
    raise SystemExit(main())
