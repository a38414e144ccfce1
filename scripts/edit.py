#!/usr/bin/env python3
"""Edit images (OpenRouter instruction edits or OpenAI mask edits); prints one JSON document. See --help."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from imagegen.commands.edit import main  # noqa: E402

if __name__ == "__main__":
    raise SystemExit(main())
