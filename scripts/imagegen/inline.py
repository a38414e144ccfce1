"""Base64 images inside a raw JSON body, found and decoded without copying the body.

A 4K image is tens of MB of base64. Parsing the whole body with ``json`` would hold it as bytes,
then as str, then decoded. Instead the image strings are located in the raw bytes, replaced by a
short placeholder in a small "skeleton" that ``json`` parses, and decoded slice by slice
straight into the output file.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from .errors import provider_error

# A data URL, or an Images/edits API "b64_json" value, opening a JSON string.
_OPENERS = re.compile(rb'"(data:image/[A-Za-z0-9.+-]+;base64,)|"b64_json"\s*:\s*"')
PLACEHOLDER = "<inline-image:{}>"
_PLACEHOLDER = re.compile(r"<inline-image:\d+>")
SLICE = 1024 * 1024  # multiple of 4


@dataclass
class InlineImage:
    body: bytearray
    start: int
    end: int
    placeholder: str = ""  # what stands for this image in the reply's skeleton

    @property
    def encoded_size(self) -> int:
        return self.end - self.start

    def decoded_chunks(self) -> Iterator[bytes]:
        """Yield the decoded bytes in slices; a provider_error if the base64 is invalid."""
        if self.body.find(b"\\", self.start, self.end) != -1:
            yield from self._decode_escaped()
            return
        view = memoryview(self.body)
        position = self.start
        while position < self.end:
            stop = min(position + SLICE, self.end)
            piece = view[position:stop]
            if stop == self.end and len(piece) % 4:
                piece = bytes(piece) + b"=" * (-len(piece) % 4)
            yield _decode(piece)
            position = stop

    def _decode_escaped(self) -> Iterator[bytes]:
        text = json.loads(b'"' + bytes(self.body[self.start : self.end]) + b'"')
        cleaned = "".join(text.split()).encode("ascii", "replace")
        cleaned += b"=" * (-len(cleaned) % 4)
        yield _decode(cleaned)


def _decode(piece: bytes | memoryview) -> bytes:
    try:
        return base64.b64decode(piece, validate=True)
    except (binascii.Error, ValueError):
        raise provider_error("provider_error", "the provider sent an image that is not valid base64") from None


def split_body(body: bytearray) -> tuple[bytes, dict[str, InlineImage]]:
    """Return (JSON skeleton with placeholders, placeholder -> inline image)."""
    pieces: list[bytes] = []
    images: dict[str, InlineImage] = {}
    cursor = 0
    for match in _OPENERS.finditer(body):
        if match.start() < cursor:
            continue
        value_start = match.end()
        value_end = body.find(b'"', value_start)
        if value_end == -1:
            break
        key = PLACEHOLDER.format(len(images))
        images[key] = InlineImage(body, value_start, value_end, key)
        # Keep everything up to the value (the "b64_json": key, or the data-URL prefix).
        pieces += [bytes(body[cursor:value_start]), key.encode("ascii")]
        cursor = value_end
    if not images:
        return bytes(body), {}
    pieces.append(bytes(body[cursor:]))
    return b"".join(pieces), images


def placeholder_in(value: str, images: dict[str, InlineImage]) -> InlineImage | None:
    """The inline image a (possibly data-URL) string stands for, if any."""
    key = value.rsplit(",", 1)[-1] if value.startswith("data:") else value
    return images.get(key)


def omit_images(document: Any, saved: Mapping[str, tuple[int, str]]) -> Any:
    """A copy of a reply skeleton fit to keep: every string holding a placeholder (a bare one or a
    data URL) becomes ``{"omitted_image": true, "bytes": n, "sha256": "..."}``, from ``saved``
    (placeholder -> (bytes, sha256) of the file the image was written to; None for images not saved)."""
    if isinstance(document, dict):
        return {key: omit_images(value, saved) for key, value in document.items()}
    if isinstance(document, list):
        return [omit_images(value, saved) for value in document]
    if isinstance(document, str):
        key = document.rsplit(",", 1)[-1] if document.startswith("data:") else document
        if _PLACEHOLDER.fullmatch(key):
            size, digest = saved.get(key, (None, None))
            return {"omitted_image": True, "bytes": size, "sha256": digest}
    return document
