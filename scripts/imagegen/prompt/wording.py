"""Text scanning shared by the prompt checks: quoted spans, the prompt without them, its words.

Quoted text is what the user wants rendered in the image, so the checks read it apart from the
rest: a sign that says "EDIT YOUR LIFE" is not a request to edit anything.
"""

from __future__ import annotations

import re

from .lazyre import Lazy

# "double", “curly”, «guillemets», and 'single' quotes that are not apostrophes (it's, dogs').
# Compiled only for a prompt that holds a quote mark (most do not).
QUOTED = Lazy(r'"([^"\n]+)"|“([^”\n]+)”|«([^»\n]+)»|‘([^’\n]+)’|(?<![\w])\'([^\'\n]+)\'(?![\w])',
              cues=('"', "“", "«", "‘", "'"))
QUOTE_MARK = '"…"'
_WORD = re.compile(r"[a-z0-9][a-z0-9'’&-]*")


def quoted_spans(text: str) -> list[str]:
    """The quoted strings in ``text``, without their quote marks."""
    return [next(g for g in match.groups() if g is not None) for match in QUOTED.finditer(text)]


def unquoted(text: str) -> str:
    """``text`` lower-cased, whitespace collapsed, each quoted span replaced by ``"…"``."""
    return " ".join(QUOTED.sub(QUOTE_MARK, text).lower().split())


def words(text: str) -> list[str]:
    """The lower-case words of already-unquoted ``text``."""
    return _WORD.findall(text)
