"""Regular expressions compiled on first use, and skipped when their cue words are absent.

The prompt checks hold some sixty patterns; compiling them all costs more than the rest of a
run's start-up. A :class:`Lazy` pattern compiles only when it is used, and, given ``cues``
(substrings at least one of which every match must contain), is not even compiled for a text
that holds none of them. Cues must be sound: tests compare every pattern with and without them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator


class Lazy:
    __slots__ = ("source", "flags", "cues", "_compiled")

    def __init__(self, source: str, cues: Iterable[str] = (), flags: int = 0) -> None:
        self.source = source
        self.flags = flags
        self.cues = tuple(cues)
        self._compiled: re.Pattern[str] | None = None

    @property
    def compiled(self) -> re.Pattern[str]:
        if self._compiled is None:
            self._compiled = re.compile(self.source, self.flags)
        return self._compiled

    def may_match(self, text: str) -> bool:
        return not self.cues or any(cue in text for cue in self.cues)

    def search(self, text: str) -> re.Match[str] | None:
        return self.compiled.search(text) if self.may_match(text) else None

    def match(self, text: str) -> re.Match[str] | None:
        return self.compiled.match(text) if self.may_match(text) else None

    def finditer(self, text: str) -> Iterator[re.Match[str]]:
        return self.compiled.finditer(text) if self.may_match(text) else iter(())

    def sub(self, replacement: str, text: str) -> str:
        return self.compiled.sub(replacement, text) if self.may_match(text) else text

    def __repr__(self) -> str:
        return f"Lazy({self.source[:40]!r}…, cues={len(self.cues)})"
