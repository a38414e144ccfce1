"""Base64 images inside a JSON body, cut out while the body streams in.

A 4K image is tens of MB of base64. Holding the body, then a str of it, then a dict, then the
decoded bytes would cost five copies. Instead the body is fed chunk by chunk to a
:class:`Splitter`: the image strings are decoded as they arrive into spool files (unnamed temp
files, gone with the process however it ends), and everything else goes to a small "skeleton"
in which each image string is replaced by a placeholder. ``json`` parses only the skeleton.
"""

from __future__ import annotations

import base64
import binascii
import io
import math
import re
from collections.abc import Callable, Iterator, Mapping
from typing import Any, BinaryIO

from ..errors import ProviderError, provider_error

# A data URL, an Images/edits API "b64_json" value, or a Gemini inlineData "data" value, opening a
# JSON string. JSON may write "/" as "\/" (valid, and seen through proxies), so
# "data:image\/png;base64," opens an image too.
_OPENERS = re.compile(rb'"(data:image(?:/|\\/)[A-Za-z0-9.+-]+;base64,)|"(?:b64_json|data)"\s*:\s*"')
_OPENER_TAIL = 256  # bytes kept back between chunks: an opener may straddle two chunks
_ESCAPES = {ord("/"): b"/", ord("n"): b"", ord("r"): b"", ord("t"): b"", ord("\\"): b"\\"}
PLACEHOLDER = "<inline-image:{}>"
_PLACEHOLDER = r"<inline-image:\d+>"  # compiled on use (re caches it), as is _TOKENS: off the plain path
SLICE = 1024 * 1024  # multiple of 4
# Real replies nest under ten levels; json's parser recurses, and a body nested 100,000 deep would
# end in a RecursionError instead of an error that says the provider sent something broken.
MAX_DEPTH = 200
# What is left of a body once its images are spooled out is held in memory: a reply (or a batch's
# results) whose text alone passes this is no reply any provider sends.
MAX_SKELETON = 64 * 1024 * 1024
# A string, a bracket, or a number JSON has no room for: NaN, Infinity, or one too large for a float.
_TOKENS = rb'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}]|-?(?:NaN|Infinity)|-?\d+(?:\.\d+)?[eE]\+?\d{3,}'
_NON_FINITE_HINTS = re.compile(rb"NaN|Infinity|[eE]\+?\d{3}")


def _invalid(reason: str) -> Exception:
    return provider_error("provider_error", f"the provider sent an image that is not valid base64 ({reason})")


class InlineImage:
    """One decoded image, held in a spool file until it is saved."""

    def __init__(self, spool: BinaryIO, placeholder: str = "") -> None:
        self.spool = spool
        self.placeholder = placeholder  # what stands for this image in the reply's skeleton
        self.encoded_size = 0
        self._carry = b""  # base64 characters short of a 4-character group
        self._escape = False  # the last chunk ended inside a JSON escape
        self.error: Exception | None = None  # set when the data proves broken; raised on reading

    def feed(self, data: bytes) -> None:
        self.encoded_size += len(data)
        if self.error is None:
            try:
                self._decode_into_spool(data)
            except ProviderError as error:  # one broken image must not sink the others in the reply
                self.error = error

    def _decode_into_spool(self, data: bytes) -> None:
        if self._escape or b"\\" in data:
            data = self._unescape(data)
        data = self._carry + data
        whole = len(data) - len(data) % 4
        self._carry = data[whole:]
        if whole:
            self.spool.write(_decode(data[:whole]))

    def _unescape(self, data: bytes) -> bytes:
        out = bytearray()
        index = 0
        if self._escape:
            self._escape = False
            data = b"\\" + data
        while True:
            slash = data.find(b"\\", index)
            if slash == -1:
                out += data[index:]
                return bytes(out)
            out += data[index:slash]
            if slash + 1 == len(data):
                self._escape = True
                return bytes(out)
            replacement = _ESCAPES.get(data[slash + 1])
            if replacement is None:
                raise _invalid(f"unexpected escape \\{chr(data[slash + 1])}")
            out += replacement
            index = slash + 2

    def finish(self) -> None:
        if self.error is None:
            try:
                self._finish()
            except ProviderError as error:
                self.error = error
        self.spool.flush()

    def _finish(self) -> None:
        if self._escape:
            raise _invalid("it ends inside an escape")
        if self._carry:
            if len(self._carry) % 4 == 1:
                raise _invalid("its length is impossible")
            self.spool.write(_decode(self._carry + b"=" * (-len(self._carry) % 4)))
            self._carry = b""

    def decoded_chunks(self) -> Iterator[bytes]:
        """The decoded bytes, a slice at a time (or the error that made them unusable)."""
        if self.error is not None:
            raise self.error
        self.spool.seek(0)
        while chunk := self.spool.read(SLICE):
            yield chunk

    def close(self) -> None:
        self.spool.close()


def _decode(piece: bytes) -> bytes:
    try:
        return base64.b64decode(piece, validate=True)
    except (binascii.Error, ValueError):
        raise _invalid("unexpected characters") from None


class Splitter:
    """Takes a body chunk by chunk; keeps a skeleton and sends image strings to spools."""

    def __init__(self, new_spool: Callable[[], BinaryIO]) -> None:
        self.new_spool = new_spool
        self.skeleton = bytearray()
        self.images: dict[str, InlineImage] = {}
        self._pending = b""
        self._current: InlineImage | None = None

    def feed(self, chunk: bytes) -> None:
        buffer = self._pending + chunk if self._pending else chunk
        self._pending = b""
        position = 0
        while position < len(buffer):
            if self._current is not None:
                quote = buffer.find(b'"', position)
                if quote == -1:
                    self._current.feed(buffer[position:])
                    return
                self._current.feed(buffer[position:quote])
                self._current.finish()
                self._current = None
                position = quote  # the closing quote belongs to the skeleton
                continue
            match = _OPENERS.search(buffer, position)
            if match is None:
                keep = max(position, len(buffer) - _OPENER_TAIL)
                self.skeleton += buffer[position:keep]
                self._pending = buffer[keep:]
                if len(self.skeleton) > MAX_SKELETON:
                    raise provider_error("provider_error", f"the provider sent over {MAX_SKELETON >> 20} MB of "
                                         "JSON besides its images, which no real reply does", retryable=False)
                return
            if _escaped(bytes(self.skeleton[-16:]) + buffer[position:match.start()]):
                # \"data:image/... inside some other string (a model quoting a data URL): not a value.
                self.skeleton += buffer[position:match.start() + 1]
                position = match.start() + 1
                continue
            key = PLACEHOLDER.format(len(self.images))
            self.skeleton += buffer[position:match.end()] + key.encode("ascii")  # the opener stays, its value goes
            self._current = self.images[key] = InlineImage(self.new_spool(), key)
            position = match.end()

    def finish(self) -> tuple[bytes, dict[str, InlineImage]]:
        if self._current is not None:  # the body ended inside an image string
            self._current.finish()
        self.skeleton += self._pending
        self._pending = b""
        return checked_json(bytes(self.skeleton)), self.images

    def discard(self) -> None:
        """Drop every spool, whatever state its disk is in (closing a spool on a full disk fails to flush
        what is being thrown away: that must not turn into a second, different error)."""
        for image in self.images.values():
            try:
                image.close()
            except OSError:
                pass


def checked_json(text: bytes) -> bytes:
    """``text`` (JSON) refused when nested deeper than MAX_DEPTH, and with every number that has no
    finite value (NaN, Infinity, 1e999) turned into a string of itself: Python would parse those
    into floats that no budget check can compare and no JSON writer may write."""
    if text.count(b"[") + text.count(b"{") <= MAX_DEPTH and not _NON_FINITE_HINTS.search(text):
        return text
    pieces: list[bytes] = []
    depth = kept = 0
    for match in re.finditer(_TOKENS, text):
        first = text[match.start()]
        if first in b"[{":
            depth += 1
            if depth > MAX_DEPTH:
                raise provider_error("provider_error", f"the provider sent JSON nested deeper than {MAX_DEPTH} "
                                     "levels, which no real reply does", retryable=False)
        elif first in b"]}":
            depth -= 1
        elif first != ord('"') and not math.isfinite(float(match.group())):
            pieces += [text[kept:match.start()], b'"' + match.group() + b'"']
            kept = match.end()
    return b"".join(pieces) + text[kept:] if pieces else text


def _escaped(before: bytes) -> bool:
    """Is a quote that follows ``before`` escaped (an odd run of backslashes)?"""
    return (len(before) - len(before.rstrip(b"\\"))) % 2 == 1


def split_body(body: bytes | bytearray) -> tuple[bytes, dict[str, InlineImage]]:
    """The same split for a body already in memory (small replies, tests)."""
    splitter = Splitter(io.BytesIO)
    for start in range(0, len(body), SLICE):
        splitter.feed(bytes(body[start:start + SLICE]))
    return splitter.finish()


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
        if re.fullmatch(_PLACEHOLDER, key):
            size, digest = saved.get(key, (None, None))
            return {"omitted_image": True, "bytes": size, "sha256": digest}
    return document
