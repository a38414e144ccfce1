"""The options of an Images API call that a chat completion has no place for, and their flags: what
the routes check and send, and what the live catalogue's parameters are checked against."""

from __future__ import annotations

from typing import Any

from ..record import Record

OPTION_FLAGS = (("quality", "--quality"), ("output_format", "--output-format"), ("background", "--background"),
                ("output_compression", "--output-compression"), ("moderation", "--moderation"))


class ImagesOptions(Record):
    """The Images API options a chat completion has no place for (``moderation``: OpenAI's only)."""

    quality: str | None = None
    output_format: str | None = None
    background: str | None = None
    output_compression: int | None = None
    moderation: str | None = None

    def record(self) -> dict[str, Any]:
        record: dict[str, Any] = {"api": "images", "quality": self.quality, "output_format": self.output_format,
                                  "background": self.background}
        record.update({name: value for name, value in (("output_compression", self.output_compression),
                                                       ("moderation", self.moderation)) if value is not None})
        return record
