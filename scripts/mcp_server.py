#!/usr/bin/env python3
"""Serve image-gen's tools over the Model Context Protocol (stdio). See --help and references/mcp.md."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from imagegen.commands.mcp_server import main  # noqa: E402

if __name__ == "__main__":
    raise SystemExit(main())
