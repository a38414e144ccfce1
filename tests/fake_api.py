"""A recording, scriptable loopback fake of the APIs image-gen talks to.

One ``ThreadingHTTPServer`` on 127.0.0.1 answers, on one port:

* OpenRouter under ``/api/v1``: chat completions, the Images API, ``/key``, ``/models`` and
  ``/generation``;
* OpenAI under ``/v1``: ``/images/edits`` (multipart/form-data), ``/images/generations``, and the
  Batch API (``/files``, ``/batches``: see ``fake_batch``);
* Google's Gemini API under ``/v1beta``: ``models/{model}:generateContent`` and Batch Mode
  (``:batchGenerateContent``, ``/batches``, the Files API upload and download; see ``fake_batch``);
* Anthropic: ``/v1/messages``;
* ``/files/<name>``: bytes registered with :meth:`FakeAPI.add_file` (for https-URL images).

Every request is recorded as a :class:`Recorded` (headers, raw body, parsed JSON or multipart
parts). First each route refuses what its provider refuses, with the provider's own error body: a
missing or unknown key (:attr:`FakeAPI.keys`; the test keys are the constants below) and a body
without a required field or with one the provider does not know. Replies are scripted per route
with :meth:`FakeAPI.enqueue`; once a route's queue is empty a realistic default success reply is
produced, its image a fresh picture of the size the request asked for (:func:`make_picture`).
A :class:`Reply` can also misbehave: delay, drip the body slowly, truncate it, reset the connection,
or stall (before the reply, or mid-body) until the test lets it go.

Usage::

    with FakeAPI() as fake:
        fake.enqueue("chat", error_reply(429, retry_after=1))
        run_cli(env={**os.environ, **fake.env()})
        assert len(fake.requests_for("chat")) == 2

Standard library only; also runnable as a script (see :func:`main`).
"""

from __future__ import annotations

import argparse
import base64
import functools
import itertools
import json as jsonlib
import math
import os
import re
import signal
import socket
import socketserver
import struct
import sys
import threading
import time
import traceback
import zlib
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from dataclasses import replace as dataclass_replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, BinaryIO
from urllib.parse import parse_qsl, quote, unquote, urlsplit

# --------------------------------------------------------------------------------------------
# Image helpers
# --------------------------------------------------------------------------------------------

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

#: Pixel sizes OpenRouter documents for ``image_config.aspect_ratio``.
ASPECT_SIZES: dict[str, tuple[int, int]] = {
    "1:1": (1024, 1024),
    "2:3": (832, 1248),
    "3:2": (1248, 832),
    "3:4": (864, 1184),
    "4:3": (1184, 864),
    "4:5": (896, 1152),
    "5:4": (1152, 896),
    "9:16": (768, 1344),
    "16:9": (1344, 768),
    "21:9": (1536, 672),
    # only the gemini-3.1-flash-image family (same docs page)
    "1:4": (512, 2048),
    "4:1": (2048, 512),
    "1:8": (384, 3072),
    "8:1": (3072, 384),
}
#: How much a size tier scales the 1K frame: OpenRouter's ``image_config.image_size`` ("0.5K" to
#: "4K"; OpenRouterTeam/docs guides/overview/multimodal/image-generation.mdx), its Images API's
#: ``resolution`` / tier ``size`` ("512", "1K", "2K", "4K"; openapi.yaml ImageGenerationRequest) and
#: Gemini's ``imageConfig.imageSize`` ("1K", "2K", "4K"; ai.google.dev image-generation, "1K" if unset).
SIZE_TIERS: dict[str, float] = {"512": 0.5, "0.5K": 0.5, "1K": 1.0, "2K": 2.0, "4K": 4.0}


def _png_chunk(kind: bytes, payload: bytes) -> bytes:
    crc = zlib.crc32(kind + payload) & 0xFFFFFFFF
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", crc)


def encode_png(width: int, height: int, pixels: bytes, rgba: bool = False, level: int = 6) -> bytes:
    """Encode packed 8-bit RGB (or RGBA) ``pixels``, row after row, as a PNG."""
    stride = width * (4 if rgba else 3)
    if width < 1 or height < 1 or len(pixels) != stride * height:
        raise ValueError(f"need {stride * height} pixel bytes for {width}x{height}")
    view = memoryview(pixels)
    raw = b"".join(part for y in range(height) for part in (b"\x00", view[y * stride : (y + 1) * stride]))
    header = struct.pack(">IIBBBBB", width, height, 8, 6 if rgba else 2, 0, 0, 0)
    return (
        PNG_SIGNATURE
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", zlib.compress(raw, level))
        + _png_chunk(b"IEND", b"")
    )


def make_png(
    width: int,
    height: int,
    rgba: bool = False,
    color: Sequence[int] | None = None,
    noise: bool = False,
) -> bytes:
    """A valid PNG of one ``color`` (alpha ``color[3]`` if given), or of random pixels, or (no
    ``color``) a picture that does not look blank: blue stripes of growing strength across an orange
    ground, orange in its first pixel. An image review.py is to judge must not be one flat colour.

    ``noise=True`` makes incompressible pixels quickly (stored deflate blocks), so a PNG of
    tens of MB costs well under a second.
    """
    channels = 4 if rgba else 3
    if noise:
        return encode_png(width, height, os.urandom(width * height * channels), rgba, level=0)
    if color is None:
        alpha = b"\xff" if rgba else b""
        row = b"".join(bytes((200, 80, 40 + (4 * x) % 128)) + alpha for x in range(width))
        return encode_png(width, height, row * height, rgba)
    pixel = bytes(color[:3]) + (bytes([color[3] if len(color) > 3 else 255]) if rgba else b"")
    return encode_png(width, height, pixel * (width * height), rgba)


_PICTURES = itertools.count(1)
_LEFT = bytes((200, 80, 40))


def _picture_row(width: int, right: bytes) -> bytes:
    """One unfiltered RGB scanline: the left half :data:`_LEFT`, the right half ``right``."""
    return b"\x00" + _LEFT * (width // 2) + right * (width - width // 2)


@functools.lru_cache(maxsize=32)
def _picture_body(width: int, height: int) -> tuple[bytes, int]:
    """Raw deflate of every scanline but the first (one row, built once and fed again and again, so a
    4K picture costs a fraction of a second and no more memory than its compressed bytes), and
    the Adler-32 of those rows: what every picture of this size shares."""
    row = _picture_row(width, bytes((40, 120, 220)))
    deflate = zlib.compressobj(9, zlib.DEFLATED, -15)
    parts, adler = [], 1
    for _ in range(height - 1):
        parts.append(deflate.compress(row))
        adler = zlib.adler32(row, adler)
    parts.append(deflate.flush(zlib.Z_FINISH))
    return b"".join(parts), adler


def _adler32_combine(first: int, second: int, second_length: int) -> int:
    """The Adler-32 of two byte strings one after the other, from theirs (zlib's adler32_combine)."""
    base = 65521
    a = ((first & 0xFFFF) + (second & 0xFFFF) - 1) % base
    b = ((first >> 16) + (second >> 16) + second_length * ((first & 0xFFFF) - 1)) % base
    return (b << 16) | a


def make_picture(width: int, height: int) -> bytes:
    """An RGB PNG of ``width`` x ``height`` that is not one flat colour and differs from call to call:
    the default reply's image, at any size, cheaply.

    Every row has two halves of different colours (so a blank-image check never calls it blank);
    the first row's right half takes a colour drawn from a counter, as real generations differ each
    time. The other rows are compressed once per size (:func:`_picture_body`) and spliced after the
    first row's own deflate block, so a 4096x4096 picture costs about a millisecond after the first.
    """
    number = next(_PICTURES)
    other = bytes(((40 + 53 * number) % 256, (120 + 29 * number) % 256, (220 + 17 * number) % 256))
    if width == 1:
        return encode_png(1, height, _LEFT * (height // 2 or 1) + other * (height - (height // 2 or 1)))
    first = _picture_row(width, other)
    head = zlib.compressobj(9, zlib.DEFLATED, -15)
    if height == 1:
        stream = head.compress(first) + head.flush(zlib.Z_FINISH)
        adler = zlib.adler32(first)
    else:
        body, body_adler = _picture_body(width, height)
        stream = head.compress(first) + head.flush(zlib.Z_FULL_FLUSH) + body  # a full flush: the body needs no history
        adler = _adler32_combine(zlib.adler32(first), body_adler, (height - 1) * len(first))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = b"\x78\xda" + stream + struct.pack(">I", adler)
    return PNG_SIGNATURE + _png_chunk(b"IHDR", header) + _png_chunk(b"IDAT", idat) + _png_chunk(b"IEND", b"")


def make_png_of_size(approx_bytes: int) -> bytes:
    """A square RGB noise PNG of about ``approx_bytes`` bytes."""
    side = max(1, math.isqrt(max(approx_bytes, 3) // 3))
    return make_png(side, side, noise=True)


def make_jpeg_header_only(width: int, height: int) -> bytes:
    """JPEG markers (SOI, APP0, DQT, SOF0, EOI) with the size, enough for header sniffing."""
    app0 = b"\xff\xe0" + struct.pack(">H", 16) + b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    dqt = b"\xff\xdb" + struct.pack(">H", 67) + b"\x00" + b"\x01" * 64
    components = b"\x01\x22\x00\x02\x11\x01\x03\x11\x01"
    sof0 = b"\xff\xc0" + struct.pack(">HBHHB", 17, 8, height, width, 3) + components
    return b"\xff\xd8" + app0 + dqt + sof0 + b"\xff\xd9"


def make_webp(width: int, height: int) -> bytes:
    """A RIFF/WEBP file holding only a VP8X chunk with the canvas size."""
    vp8x = b"\x00\x00\x00\x00" + (width - 1).to_bytes(3, "little") + (height - 1).to_bytes(3, "little")
    chunk = b"VP8X" + struct.pack("<I", len(vp8x)) + vp8x
    return b"RIFF" + struct.pack("<I", 4 + len(chunk)) + b"WEBP" + chunk


def _lzw_pack(codes: Sequence[int], bits: int) -> bytes:
    """Pack fixed-width codes least-significant-bit first, as GIF does."""
    out = bytearray()
    acc = filled = 0
    for code in codes:
        acc |= code << filled
        filled += bits
        while filled >= 8:
            out.append(acc & 0xFF)
            acc >>= 8
            filled -= 8
    if filled:
        out.append(acc)
    return bytes(out)


def _gif_pixels(count: int) -> bytes:
    """LZW data for ``count`` pixels of colour 0: a clear code before every two pixels keeps
    the table tiny and the code width at 3 bits; eight such groups fill exactly 9 bytes."""
    block = _lzw_pack([4, 0, 0] * 8, 3)
    tail = [4, 0, 0] * ((count // 2) % 8) + [4, 0] * (count % 2) + [5]
    data = block * (count // 16) + _lzw_pack(tail, 3)
    blocks = b"".join(bytes([len(data[i : i + 255])]) + data[i : i + 255] for i in range(0, len(data), 255))
    return b"\x02" + blocks + b"\x00"


def make_gif(width: int, height: int) -> bytes:
    """A valid GIF89a of one colour."""
    screen = struct.pack("<HHBBB", width, height, 0x91, 0, 0) + b"\xc8\x50\x28" + b"\x00" * 9
    descriptor = b"\x2c" + struct.pack("<HHHHB", 0, 0, width, height, 0)
    return b"GIF89a" + screen + descriptor + _gif_pixels(width * height) + b"\x3b"


def _png_chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    if not data.startswith(PNG_SIGNATURE):
        raise ValueError("not a PNG")
    chunks, pos = [], len(PNG_SIGNATURE)
    while pos + 12 <= len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, end = data[pos + 4 : pos + 8], pos + 8 + length
        if end + 4 > len(data):
            raise ValueError(f"PNG chunk {kind!r} is truncated")
        payload, (crc,) = data[pos + 8 : end], struct.unpack(">I", data[end : end + 4])
        if zlib.crc32(kind + payload) & 0xFFFFFFFF != crc:
            raise ValueError(f"PNG chunk {kind!r} has a bad CRC")
        chunks.append((kind, payload))
        pos += 12 + length
        if kind == b"IEND":
            return chunks
    raise ValueError("PNG has no IEND chunk")


def png_size(data: bytes) -> tuple[int, int]:
    """(width, height) from a PNG's IHDR."""
    if not data.startswith(PNG_SIGNATURE) or data[12:16] != b"IHDR":
        raise ValueError("not a PNG")
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def _paeth(left: int, up: int, upleft: int) -> int:
    estimate = left + up - upleft
    dl, du, dul = abs(estimate - left), abs(estimate - up), abs(estimate - upleft)
    if dl <= du and dl <= dul:
        return left
    return up if du <= dul else upleft


def _unfilter_row(kind: int, line: bytearray, prev: bytearray, bpp: int) -> None:
    """Undo one PNG filter in place (types 0-4)."""
    if kind == 0:
        return
    if kind not in (1, 2, 3, 4):
        raise ValueError(f"bad PNG filter type {kind}")
    for i in range(len(line)):
        left = line[i - bpp] if i >= bpp else 0
        upleft = prev[i - bpp] if i >= bpp else 0
        if kind == 1:
            predicted = left
        elif kind == 2:
            predicted = prev[i]
        elif kind == 3:
            predicted = (left + prev[i]) >> 1
        else:
            predicted = _paeth(left, prev[i], upleft)
        line[i] = (line[i] + predicted) & 0xFF


def _rgb_to_rgba(row: bytes) -> bytes:
    count = len(row) // 3
    out = bytearray(b"\xff" * (count * 4))
    for channel in range(3):
        out[channel::4] = row[channel::3]
    return bytes(out)


def read_png_rgba(data: bytes) -> tuple[int, int, list[bytes]]:
    """Decode an 8-bit RGB or RGBA, non-interlaced PNG to (width, height, RGBA rows)."""
    chunks = _png_chunks(data)
    if chunks[0][0] != b"IHDR":
        raise ValueError("PNG does not start with IHDR")
    width, height, depth, color_type, _, _, interlace = struct.unpack(">IIBBBBB", chunks[0][1])
    if depth != 8 or color_type not in (2, 6) or interlace:
        raise ValueError(f"unsupported PNG: depth {depth}, colour type {color_type}, interlace {interlace}")
    bpp = 4 if color_type == 6 else 3
    stride = width * bpp
    raw = zlib.decompress(b"".join(payload for kind, payload in chunks if kind == b"IDAT"))
    if len(raw) < height * (stride + 1):
        raise ValueError("PNG image data is too short")
    rows, prev = [], bytearray(stride)
    for y in range(height):
        start = y * (stride + 1)
        line = bytearray(raw[start + 1 : start + 1 + stride])
        _unfilter_row(raw[start], line, prev, bpp)
        rows.append(bytes(line) if bpp == 4 else _rgb_to_rgba(bytes(line)))
        prev = line
    return width, height, rows


def aspect_size(ratio: Any) -> tuple[int, int]:
    """Pixel size for an aspect ratio: the documented table, else about 1 MP, else 1024x1024."""
    if isinstance(ratio, str) and ratio in ASPECT_SIZES:
        return ASPECT_SIZES[ratio]
    match = re.fullmatch(r"(\d+(?:\.\d+)?):(\d+(?:\.\d+)?)", ratio if isinstance(ratio, str) else "")
    if not match or not float(match[1]) or not float(match[2]):
        return 1024, 1024
    width = math.sqrt(1024 * 1024 * float(match[1]) / float(match[2]))
    return round(width), round(1024 * 1024 / width)


def frame_size(ratio: Any = None, tier: Any = None) -> tuple[int, int]:
    """The frame an aspect ratio and size tier ask for: the 1K frame of the ratio times the tier."""
    width, height = aspect_size(ratio)
    scale = SIZE_TIERS.get(tier, 1.0) if isinstance(tier, str) else 1.0
    return round(width * scale), round(height * scale)


def pixel_size(text: Any) -> tuple[int, int] | None:
    """``(width, height)`` of a ``"WIDTHxHEIGHT"`` size, or None."""
    match = re.fullmatch(r"(\d{1,5})x(\d{1,5})", text if isinstance(text, str) else "")
    return (int(match[1]), int(match[2])) if match and int(match[1]) and int(match[2]) else None


def chat_asked_size(request: Any) -> tuple[int, int]:
    """What an OpenRouter chat completion asks for: ``image_config.aspect_ratio`` and ``image_size``."""
    config = request.get("image_config") if isinstance(request, dict) else None
    config = config if isinstance(config, dict) else {}
    return frame_size(config.get("aspect_ratio"), config.get("image_size"))


def images_asked_size(request: Any) -> tuple[int, int]:
    """What an OpenRouter Images API request asks for: ``size`` in pixels wins; else a tier (``size``
    or ``resolution``) over the ``aspect_ratio`` (openapi.yaml ImageGenerationRequest)."""
    request = request if isinstance(request, dict) else {}
    exact = pixel_size(request.get("size"))
    if exact:
        return exact
    tier = request.get("size") if request.get("size") in SIZE_TIERS else request.get("resolution")
    return frame_size(request.get("aspect_ratio"), tier)


def gemini_asked_size(request: Any) -> tuple[int, int]:
    """What a generateContent request asks for: ``generationConfig.imageConfig`` ``aspectRatio`` and
    ``imageSize`` (ai.google.dev/api/generate-content#ImageConfig)."""
    config = request.get("generationConfig") if isinstance(request, dict) else None
    image_config = config.get("imageConfig") if isinstance(config, dict) else None
    image_config = image_config if isinstance(image_config, dict) else {}
    return frame_size(image_config.get("aspectRatio"), image_config.get("imageSize"))


def openai_asked_size(size: Any, first_image: bytes | None = None) -> tuple[int, int]:
    """What an OpenAI images request asks for: ``size`` in pixels; ``auto`` (or none) is one of the
    three standard frames, chosen by the shape of the first input image if there is one
    (openai-python ``image_edit_params.py`` / ``image_generate_params.py``: "1024x1024, 1536x1024
    (landscape), 1024x1536 (portrait), or auto")."""
    exact = pixel_size(size)
    if exact:
        return exact
    try:
        width, height = png_size(first_image) if first_image else (1, 1)
    except ValueError:
        width, height = 1, 1
    ratio = width / height
    return (1536, 1024) if ratio > 1.2 else (1024, 1536) if ratio < 1 / 1.2 else (1024, 1024)


#: What a reply helper sends when a test scripts it without images: a 64x64 PNG (marked by a tEXt
#: chunk so no test's own image is mistaken for it) that the fake swaps, as it serves the reply, for
#: a picture of the size the request asked, as its default replies do. A direct use of the helper's
#: JSON (no request to answer) still sees a valid small PNG.
ASKED_SIZE_PNG = (make_png(64, 64)[:-12] + _png_chunk(b"tEXt", b"Comment\0fake_api: the size asked")
                  + _png_chunk(b"IEND", b""))
_ASKED_SIZE_B64 = base64.b64encode(ASKED_SIZE_PNG).decode("ascii")


def asked_size(record: Recorded) -> tuple[int, int] | None:
    """The pixel size ``record`` asks for, on the routes that answer with images; else None."""
    if record.route == "chat":
        return chat_asked_size(record.json)
    if record.route == "images":
        return images_asked_size(record.json)
    if record.route == "gemini":
        return gemini_asked_size(record.json)
    if record.route == "generations":
        return openai_asked_size(record.json.get("size") if isinstance(record.json, dict) else None)
    if record.route == "edits":
        images = record.parts_named("image") or record.parts_named("image[]")
        return openai_asked_size(record.form.get("size"), images[0].data if images else None)
    return None


def _data_url(data: bytes, mime: str) -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


# --------------------------------------------------------------------------------------------
# multipart/form-data
# --------------------------------------------------------------------------------------------

_PARAM_RE = re.compile(r';\s*([^\s=;]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^;]*)')


def _decode_ext_value(value: str) -> str:
    """Decode an RFC 5987 ``charset'lang'percent-encoded`` value."""
    if value.count("'") < 2:
        return unquote(value)
    charset, _lang, encoded = value.split("'", 2)
    try:
        return unquote(encoded, encoding=charset or "utf-8", errors="replace")
    except LookupError:
        return unquote(encoded, errors="replace")


def parse_header_params(value: str) -> tuple[str, dict[str, str]]:
    """Split ``type; a=1; b="q\\"uoted"; c*=UTF-8''%E2%82%AC`` into ("type", params).

    Keys are lower-cased, quoted values unescaped, and ``key*`` (RFC 5987) wins over ``key``.
    """
    main, _, rest = value.partition(";")
    plain: dict[str, str] = {}
    extended: dict[str, str] = {}
    for match in _PARAM_RE.finditer(";" + rest):
        key, raw = match[1].lower(), match[2].strip()
        if len(raw) >= 2 and raw[0] == raw[-1] == '"':
            raw = re.sub(r"\\(.)", r"\1", raw[1:-1])
        if key.endswith("*"):
            extended[key[:-1]] = _decode_ext_value(raw)
        else:
            plain[key] = raw
    return main.strip().lower(), {**plain, **extended}


@dataclass
class Part:
    """One part of a multipart/form-data body."""

    name: str | None
    filename: str | None
    content_type: str | None
    data: bytes
    headers: dict[str, str] = field(default_factory=dict)  # lower-cased names, raw values

    @property
    def text(self) -> str:
        return self.data.decode("utf-8", errors="replace")


def _decode_header_bytes(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def _parse_part(segment: bytes) -> Part:
    _padding, _, segment = segment.partition(b"\r\n")
    if segment.startswith(b"\r\n"):
        head, data = b"", segment[2:]
    else:
        head, _, data = segment.partition(b"\r\n\r\n")
    headers: dict[str, str] = {}
    for line in _decode_header_bytes(head).split("\r\n"):
        name, colon, value = line.partition(":")
        if colon:
            headers[name.strip().lower()] = value.strip()
    _, params = parse_header_params(headers.get("content-disposition", ""))
    return Part(params.get("name"), params.get("filename"), headers.get("content-type"), data, headers)


def parse_multipart(body: bytes, content_type: str) -> list[Part]:
    """Parse a multipart body with the boundary named in ``content_type``."""
    _, params = parse_header_params(content_type)
    boundary = params.get("boundary")
    if not boundary:
        raise ValueError("multipart Content-Type without a boundary")
    parts = []
    for segment in (b"\r\n" + body).split(b"\r\n--" + boundary.encode("latin-1"))[1:]:
        if segment.startswith(b"--"):
            break
        parts.append(_parse_part(segment))
    return parts


# --------------------------------------------------------------------------------------------
# Recorded requests and scripted replies
# --------------------------------------------------------------------------------------------


@dataclass
class Recorded:
    """One request as the fake received it."""

    route: str
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]  # lower-cased names
    body: bytes
    json: Any = None  # parsed JSON body, or None
    parts: list[Part] | None = None  # multipart parts, or None
    received: float = field(default_factory=time.monotonic)

    def parts_named(self, name: str) -> list[Part]:
        return [part for part in self.parts or [] if part.name == name]

    def part(self, name: str) -> Part | None:
        found = self.parts_named(name)
        return found[0] if found else None

    @property
    def form(self) -> dict[str, str]:
        """The multipart fields that are not files, as text."""
        return {p.name: p.text for p in self.parts or [] if p.name is not None and p.filename is None}


@dataclass
class Reply:
    """A scripted HTTP reply, or misbehaviour (delay, drip, truncate, reset)."""

    status: int = 200
    json: Any = None
    body: bytes | None = None  # raw body; wins over json
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str | None = None
    delay: float = 0.0  # seconds before anything is sent
    drip: float | None = None  # seconds between body chunks
    drip_chunk: int = 64  # bytes per dripped chunk
    truncate: int | None = None  # send only this many body bytes, then close
    reset: bool = False  # close with a TCP RST and no response
    stall: threading.Event | None = None  # wait for this (60 s at most) before sending anything ...
    stall_after: int | None = None  # ... or, given this, after the headers and this many body bytes

    def payload(self) -> bytes:
        if self.body is not None:
            return self.body
        return b"" if self.json is None else jsonlib.dumps(self.json).encode("utf-8")

    def header_items(self, length: int) -> list[tuple[str, str]]:
        default_type = "application/octet-stream" if self.body is not None else "application/json"
        merged = {
            "content-type": ("Content-Type", self.content_type or default_type),
            "content-length": ("Content-Length", str(length)),
        }
        merged.update({name.lower(): (name, str(value)) for name, value in self.headers.items()})
        return list(merged.values())


#: What :meth:`FakeAPI.enqueue` accepts: a Reply, or a function of the request returning one
#: (or None for the default reply).
ReplyLike = Reply | Callable[[Recorded], Reply | None]

_GEN_IDS = itertools.count(1)


def _next_gen_id() -> str:
    return f"gen-{next(_GEN_IDS)}"


# --------------------------------------------------------------------------------------------
# Reply factories
# --------------------------------------------------------------------------------------------

DEFAULT_CHAT_MODEL = "google/gemini-2.5-flash-image"
DEFAULT_REVIEW: dict[str, Any] = {
    "score": 8,
    "prompt_adherence": 8,
    "technical_quality": 8,
    "composition": 7,
    "critique": "Strong subject and lighting; the background is a little busy.",
    "suggested_refinement": "",
}
_ANTHROPIC_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    402: "billing_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    529: "overloaded_error",
}


def review_text(**overrides: Any) -> str:
    """The JSON text of a vision review (DEFAULT_REVIEW with ``overrides``)."""
    return jsonlib.dumps({**DEFAULT_REVIEW, **overrides})


#: A review of each verdict, by the rubric's thresholds (accept >= 7, refine 4-6, reject < 4).
VERDICT_REVIEWS: dict[str, dict[str, Any]] = {
    "accept": {"score": 8, "prompt_adherence": 8, "technical_quality": 8, "composition": 7,
               "critique": "The fox, the snow and the light are all there.", "suggested_refinement": ""},
    "refine": {"score": 5, "prompt_adherence": 5, "technical_quality": 6, "composition": 5,
               "critique": "The fox is there but small and the snow looks grey.",
               "suggested_refinement": "make the fox fill the frame and the snow bright white"},
    "reject": {"score": 2, "prompt_adherence": 2, "technical_quality": 4, "composition": 3,
               "critique": "There is no fox in the image.",
               "suggested_refinement": "show a red fox clearly, standing in fresh snow"},
}


def review_reply(verdict: str = "accept", provider: str = "anthropic", **overrides: Any) -> Reply:
    """A vision review scripted for one round: ``verdict`` accept, refine or reject (scores to match,
    ``overrides`` on top), as the Anthropic Messages API or an OpenRouter chat completion answers it."""
    text = review_text(**{**VERDICT_REVIEWS[verdict], **overrides})
    if provider == "anthropic":
        return messages_reply(text)
    return openrouter_text_reply(text, model="google/gemini-2.5-flash")


def error_reply(
    status: int,
    message: str = "Fake upstream error",
    retry_after: float | str | None = None,
    code: int | None = None,
    metadata: dict[str, Any] | None = None,
) -> Reply:
    """An OpenRouter error: ``{"error": {"code", "message", "metadata"}}``."""
    headers = {} if retry_after is None else {"Retry-After": str(retry_after)}
    error = {"code": status if code is None else code, "message": message, "metadata": metadata or {}}
    return Reply(status=status, json={"error": error}, headers=headers)


def openai_error_reply(status: int, message: str = "Fake OpenAI error", param: str | None = None,
                       code: str | None = None) -> Reply:
    kind = "server_error" if status >= 500 else "invalid_request_error"
    return Reply(status=status, json={"error": {"message": message, "type": kind, "param": param, "code": code}})


def anthropic_error_reply(status: int, message: str = "Fake Anthropic error") -> Reply:
    kind = _ANTHROPIC_ERROR_TYPES.get(status, "api_error")
    return Reply(status=status, json={"type": "error", "error": {"type": kind, "message": message}})


#: Models the fake answers like Claude Sonnet 5 and Opus 4.7+ when a sampling parameter is sent
#: (id prefixes; OpenRouter's ``anthropic/...`` ids are matched without the vendor part).
NO_SAMPLING_MODELS = ("claude-sonnet-5", "claude-opus-4-7", "claude-opus-4.7", "claude-opus-4-8", "claude-opus-4.8")
SAMPLING_PARAMETERS = ("temperature", "top_p", "top_k")


def sampling_rejected_json(name: str = "temperature") -> dict[str, Any]:
    """Anthropic's answer to a sampling parameter on a model that has none, exactly as the Messages API
    sends it with HTTP 400 (recorded from the service; see also the anthropic-version notes of
    anthropic-sdk-python)."""
    return {"type": "error", "error": {"type": "invalid_request_error",
                                       "message": f"`{name}` is deprecated for this model."}}


def sampling_rejected_reply(name: str = "temperature") -> Reply:
    return Reply(status=400, json=sampling_rejected_json(name))


def openrouter_upstream_error_reply(status: int, raw: dict[str, Any], provider_name: str = "Anthropic",
                                    error_type: str = "invalid_request") -> Reply:
    """An upstream error as OpenRouter passes it through: ``{"error": {"code", "message": "Provider
    returned error", "metadata": {"raw": <the upstream body as a string>, "provider_name",
    "error_type", "provider_code"}}}`` (OpenRouterTeam/docs api_reference/errors-and-debugging.mdx,
    "Provider errors" and "Masking and raw provider details")."""
    upstream = raw.get("error") if isinstance(raw.get("error"), dict) else {}
    metadata = {"raw": jsonlib.dumps(raw, separators=(",", ":")), "provider_name": provider_name,
                "error_type": error_type, "provider_code": upstream.get("type")}
    return Reply(status=status, json={"error": {"code": status, "message": "Provider returned error",
                                                "metadata": metadata}})


def rejects_sampling(model: str, request: Any, extra: Sequence[str] = ()) -> str | None:
    """The sampling parameter ``request`` sends that ``model`` refuses, or None."""
    bare = model.split("/", 1)[-1]
    if not isinstance(request, dict) or not bare.startswith(tuple(NO_SAMPLING_MODELS) + tuple(extra)):
        return None
    return next((name for name in SAMPLING_PARAMETERS if name in request), None)


# -- "this model does not exist", as each provider says it ----------------------------------------

def openrouter_invalid_model_reply(model: str) -> Reply:
    """OpenRouter, an id it does not serve: HTTP 400 with no metadata, no error_type.

    As the service sends it (quoted in OpenRouterTeam/openrouter-examples issue #74):
    ``{"error": {"message": "claude-sonnet-4-6 is not a valid model ID", "code": 400}}``;
    replies recorded through other clients add a top-level ``user_id``."""
    return Reply(status=400, json={"error": {"message": f"{model} is not a valid model ID", "code": 400},
                                   "user_id": "user_fake"})


def openrouter_no_endpoints_reply(model: str) -> Reply:
    """OpenRouter, a model it lists no live endpoint for: HTTP 404.

    As the service sends it (quoted in chatboxai/chatbox issue #2743):
    ``{"error": {"message": "No endpoints found for deepseek/deepseek-chat-v3.1:free.", "code": 404},
    "user_id": "user_..."}``."""
    return Reply(status=404, json={"error": {"message": f"No endpoints found for {model}.", "code": 404},
                                   "user_id": "user_fake"})


def gemini_not_found_reply(model: str) -> Reply:
    """Google's Gemini API, a model it does not have: HTTP 404, google.rpc.Status NOT_FOUND.

    As the API sends it (quoted in google-gemini/gemini-api-quickstart issue #20):
    ``{"error": {"code": 404, "message": "models/gemini-2.0-flash-exp-image-generation is not found for
    API version v1beta, or is not supported for generateContent. Call ListModels to see the list of
    available models and their supported methods.", "status": "NOT_FOUND"}}``."""
    return gemini_error_reply(404, f"models/{model} is not found for API version v1beta, or is not supported for "
                                   "generateContent. Call ListModels to see the list of available models and their "
                                   "supported methods.", rpc_status="NOT_FOUND")


def openai_model_not_found_reply(model: str) -> Reply:
    """OpenAI, a model the key cannot use or that is gone: HTTP 404, ``code: model_not_found``.

    As the API sends it (quoted in openai/openai-agents-python issue #458):
    ``{"error": {"message": "The model `computer-use-preview-2025-03-11` does not exist or you do not
    have access to it.", "type": "invalid_request_error", "param": null, "code": "model_not_found"}}``."""
    return Reply(status=404, json={"error": {
        "message": f"The model `{model}` does not exist or you do not have access to it.",
        "type": "invalid_request_error", "param": None, "code": "model_not_found"}})


def anthropic_model_not_found_reply(model: str) -> Reply:
    """Anthropic, an unknown model: HTTP 404 ``not_found_error`` whose message is ``model: <id>``.

    As the API sends it (quoted in anthropics/claude-code issue #5349):
    ``{"type": "error", "error": {"type": "not_found_error", "message": "model: sonnet4"}}``."""
    return Reply(status=404, json={"type": "error", "error": {"type": "not_found_error", "message": f"model: {model}"}})


def html_reply(status: int = 502) -> Reply:
    """An HTML error page, as a proxy or CDN would send."""
    page = f"<html><head><title>{status} Bad Gateway</title></head><body><h1>{status}</h1></body></html>"
    return Reply(status=status, body=page.encode("ascii"), content_type="text/html; charset=utf-8")


def _usage(cost: float | None) -> dict[str, Any]:
    """Chat usage; ``cost=None`` leaves ``cost`` out, as many real replies do."""
    usage: dict[str, Any] = {
        "prompt_tokens": 10,
        "completion_tokens": 1300,
        "total_tokens": 1310,
        "completion_tokens_details": {"image_tokens": 1290},
    }
    if cost is not None:
        usage["cost"] = cost
    return usage


def _chat_json(message: dict[str, Any], model: str, cost: float | None, gen_id: str | None, **choice: Any) -> dict:
    return {
        "id": gen_id or _next_gen_id(),
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "provider": "Fake Provider",
        "choices": [{"index": 0, **choice, "message": {"role": "assistant", **message}}],
        "usage": _usage(cost),
    }


def chat_image_reply(
    images: Sequence[bytes] = (),
    text: str = "Here is your image.",
    cost: float | None = 0.04,
    gen_id: str | None = None,
    as_urls: Sequence[str] | None = None,
    mime: str = "image/png",
    finish_reason: str = "stop",
    native_finish_reason: str = "STOP",
    model: str = DEFAULT_CHAT_MODEL,
) -> Reply:
    """A chat completion carrying images as data URLs (``mime``) or as the given ``as_urls``.

    With neither ``images`` nor ``as_urls`` one PNG of the size the request asked is sent (ASKED_SIZE_PNG).
    """
    urls = list(as_urls) if as_urls is not None else [_data_url(i, mime) for i in images or [ASKED_SIZE_PNG]]
    message = {"content": text, "images": [{"type": "image_url", "image_url": {"url": url}} for url in urls]}
    body = _chat_json(
        message, model, cost, gen_id, finish_reason=finish_reason, native_finish_reason=native_finish_reason
    )
    return Reply(json=body)


def chat_text_only_reply(
    text: str,
    native_finish_reason: str = "IMAGE_PROHIBITED_CONTENT",
    finish_reason: str = "stop",
    model: str = DEFAULT_CHAT_MODEL,
) -> Reply:
    """A chat completion with text and no images (safety block, wrong modalities, ...)."""
    body = _chat_json(
        {"content": text}, model, 0.001, None, finish_reason=finish_reason, native_finish_reason=native_finish_reason
    )
    return Reply(json=body)


def chat_error_in_200_reply(message: str, code: int = 502) -> Reply:
    """HTTP 200 whose body is a bare ``{"error": {...}}``."""
    return Reply(json={"error": {"code": code, "message": message, "metadata": {}}})


def chat_finish_error_reply(message: str, code: int = 502, model: str = DEFAULT_CHAT_MODEL) -> Reply:
    """HTTP 200 with ``choices[0].finish_reason == "error"`` and ``choices[0].error``."""
    error = {"code": code, "message": message, "metadata": {}}
    body = _chat_json(
        {"content": ""}, model, 0.0, None, finish_reason="error", native_finish_reason="ERROR", error=error
    )
    return Reply(json=body)


def openrouter_text_reply(text: str, model: str = "anthropic/claude-sonnet-4.6", cost: float = 0.001) -> Reply:
    """A plain text chat completion (vision review or prompt enhancement via OpenRouter)."""
    body = _chat_json({"content": text}, model, cost, None, finish_reason="stop", native_finish_reason="end_turn")
    return Reply(json=body)


def images_reply(images: Sequence[bytes] = (), cost: float = 0.04, media_type: str = "image/png") -> Reply:
    """An OpenRouter Images API response (one PNG of the size asked if ``images`` is empty)."""
    data = [
        {"b64_json": base64.b64encode(image).decode("ascii"), "media_type": media_type}
        for image in images or [ASKED_SIZE_PNG]
    ]
    return Reply(json={"created": int(time.time()), "data": data, "usage": {"cost": cost}})


def make_svg(width: int = 64, height: int = 64, body: str = '<circle cx="32" cy="32" r="24" fill="#c85028"/>') -> bytes:
    """A small SVG document, as a vector model sends one."""
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="{width}" '
            f'height="{height}" viewBox="0 0 {width} {height}">{body}</svg>\n').encode()


def vector_images_reply(svgs: Sequence[bytes] = (), cost: float = 0.08) -> Reply:
    """The Images API's answer from a vector model: ``media_type: image/svg+xml``, the SVG markup
    UTF-8 base64-encoded in ``b64_json`` (OpenRouterTeam/docs guides/overview/multimodal/
    image-generation.mdx, and ``output_format`` in the OpenAPI spec's ImageGenerationRequest)."""
    data = [{"b64_json": base64.b64encode(svg).decode("ascii"), "media_type": "image/svg+xml"}
            for svg in svgs or [make_svg()]]
    usage = {"prompt_tokens": 0, "completion_tokens": 272, "total_tokens": 272, "cost": cost}
    return Reply(json={"created": int(time.time()), "data": data, "usage": usage})


#: Output image tokens per image by quality and frame for the GPT Image models that make only the three
#: frames: the table in OpenAI's image generation guide ("Cost and latency", gpt-image-1 family).
THREE_FRAME_TOKENS = {
    "low": {"1024x1024": 272, "1024x1536": 408, "1536x1024": 400},
    "medium": {"1024x1024": 1056, "1024x1536": 1584, "1536x1024": 1568},
    "high": {"1024x1024": 4160, "1024x1536": 6240, "1536x1024": 6208},
}
#: gpt-image-2's per-quality factors in the rule behind the cost calculator of OpenAI's image generation
#: guide, as reconstructed in the OpenAI developer community ("gpt-image-2 output pricing calculator",
#: 2026-06-05): 196 / 1756 / 7024 tokens at 1024x1024 ($0.006 / $0.053 / $0.211 at $30/M, the published
#: prices), 5488 at 1536x1024 high, 129 at 976x704 low.
GPT_IMAGE_2_FACTORS = {"low": 16, "medium": 48, "high": 96}


def openai_output_tokens(model: str, quality: str, size: str) -> int:
    """Image tokens the real service bills for one image of ``size`` at ``quality`` (auto: high).
    gpt-image-2 and its snapshots follow the calculator's rule at any size; the other models the
    three-frame table (another frame: the rule as well)."""
    tier = quality if quality in GPT_IMAGE_2_FACTORS else "high"
    width, height = pixel_size(size) or (1024, 1024)
    if not (model == "gpt-image-2" or model.startswith("gpt-image-2-")) and size in THREE_FRAME_TOKENS[tier]:
        return THREE_FRAME_TOKENS[tier][size]
    factor = GPT_IMAGE_2_FACTORS[tier]
    long_edge, short_edge = max(width, height), min(width, height)
    short_factor = (2 * factor * short_edge + long_edge) // (2 * long_edge)
    return -(-factor * short_factor * (2_000_000 + width * height) // 4_000_000)


def openai_usage(model: str = "gpt-image-2", quality: str = "medium", size: str = "1024x1024", images: int = 1,
                 text_in: int = 44, image_in: int = 0) -> dict[str, Any]:
    """An OpenAI images reply's ``usage`` (openai-python ``types/images_response.py`` ``Usage``:
    ``input_tokens``, ``input_tokens_details`` {image_tokens, text_tokens}, ``output_tokens``,
    ``output_tokens_details`` {image_tokens, text_tokens}, ``total_tokens``), billed at the quality
    and size asked, every image counted."""
    image_out = openai_output_tokens(model, quality, size) * images
    return {"total_tokens": text_in + image_in + image_out, "input_tokens": text_in + image_in,
            "output_tokens": image_out,
            "input_tokens_details": {"text_tokens": text_in, "image_tokens": image_in},
            "output_tokens_details": {"text_tokens": 0, "image_tokens": image_out}}


def edits_reply(images: Sequence[bytes] = (), quality: str = "auto", size: str = "1024x1024",
                model: str = "gpt-image-2", usage: dict[str, Any] | None = None) -> Reply:
    """An OpenAI ``/images/edits`` response (one PNG of the size asked if ``images`` is empty); ``usage``
    scripts a specific token count, else it is what the quality and size asked cost."""
    data = [{"b64_json": base64.b64encode(image).decode("ascii")} for image in images or [ASKED_SIZE_PNG]]
    if usage is None:
        usage = openai_usage(model, quality, size, len(data), text_in=50, image_in=150)
    return Reply(json={"created": int(time.time()), "data": data, "usage": usage})


def generations_reply(images: Sequence[bytes] = (), quality: str = "medium", size: str = "1024x1024",
                      output_format: str = "png", model: str = "gpt-image-2",
                      usage: dict[str, Any] | None = None) -> Reply:
    """An OpenAI ``/images/generations`` response, as the API reference shows it: ``created``,
    ``data[].b64_json``, the options used, and token ``usage`` (no price) for the quality and size
    asked, unless ``usage`` scripts a specific one."""
    data = [{"b64_json": base64.b64encode(image).decode("ascii")} for image in images or [ASKED_SIZE_PNG]]
    if usage is None:
        usage = openai_usage(model, quality, size, len(data))
    return Reply(json={"created": int(time.time()), "background": "opaque", "data": data,
                       "output_format": output_format, "quality": quality, "size": size, "usage": usage})


#: google.rpc.Code names by HTTP status, as the Gemini API sends them (ai.google.dev troubleshooting).
GOOGLE_STATUSES = {400: "INVALID_ARGUMENT", 403: "PERMISSION_DENIED", 404: "NOT_FOUND", 429: "RESOURCE_EXHAUSTED",
                   500: "INTERNAL", 503: "UNAVAILABLE", 504: "DEADLINE_EXCEEDED"}


def gemini_error_json(status: int, message: str = "Fake Gemini error", rpc_status: str | None = None,
                      details: Sequence[dict[str, Any]] = ()) -> dict[str, Any]:
    return {"error": {"code": status, "message": message,
                      "status": rpc_status or GOOGLE_STATUSES.get(status, "UNKNOWN"),
                      **({"details": list(details)} if details else {})}}


def gemini_error_reply(status: int, message: str = "Fake Gemini error", rpc_status: str | None = None,
                       details: Sequence[dict[str, Any]] = (), retry_delay: str | None = None) -> Reply:
    """A Gemini API error: ``{"error": {"code", "message", "status", "details"}}`` (google.rpc.Status)."""
    details = list(details)
    if retry_delay is not None:
        details.append({"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": retry_delay})
    return Reply(status=status, json=gemini_error_json(status, message, rpc_status, details))


def gemini_bad_key_reply() -> Reply:
    """What the Gemini API answers a wrong key: 400 INVALID_ARGUMENT with ErrorInfo reason API_KEY_INVALID."""
    info = {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "API_KEY_INVALID",
            "domain": "googleapis.com", "metadata": {"service": "generativelanguage.googleapis.com"}}
    return gemini_error_reply(400, "API key not valid. Please pass a valid API key.", details=[info])


def gemini_usage(images: int = 1) -> dict[str, Any]:
    return {"promptTokenCount": 12, "candidatesTokenCount": 1290 * images + 20, "totalTokenCount": 1290 * images + 32,
            "promptTokensDetails": [{"modality": "TEXT", "tokenCount": 12}],
            "candidatesTokensDetails": [{"modality": "IMAGE", "tokenCount": 1290 * images},
                                        {"modality": "TEXT", "tokenCount": 20}]}


def gemini_response_json(images: Sequence[bytes] = (), model: str = "gemini-3.1-flash-image",
                         text: str | None = "Here is your image.", finish_reason: str = "STOP",
                         mime: str = "image/png") -> dict[str, Any]:
    """A GenerateContentResponse with image output: ``candidates[0].content.parts`` holding a text
    part and ``inlineData`` parts, ``finishReason``, ``usageMetadata``, ``modelVersion``, ``responseId``."""
    parts: list[dict[str, Any]] = [{"text": text}] if text else []
    parts += [{"inlineData": {"mimeType": mime, "data": base64.b64encode(image).decode("ascii")}} for image in images]
    return {"candidates": [{"content": {"parts": parts, "role": "model"}, "finishReason": finish_reason, "index": 0}],
            "usageMetadata": gemini_usage(len(images)), "modelVersion": model, "responseId": f"resp-{next(_GEN_IDS)}"}


def gemini_reply(images: Sequence[bytes] = (), **fields: Any) -> Reply:
    return Reply(json=gemini_response_json(images or [ASKED_SIZE_PNG], **fields))


def gemini_no_image_reply(finish_reason: str = "IMAGE_SAFETY", text: str | None = None) -> Reply:
    """A candidate that stopped without an image (``finishReason`` IMAGE_SAFETY, NO_IMAGE, ...)."""
    document = gemini_response_json([], text=text, finish_reason=finish_reason)
    if not text:
        document["candidates"][0].pop("content")  # a blocked candidate carries no content at all
    return Reply(json=document)


def gemini_blocked_reply(reason: str = "PROHIBITED_CONTENT") -> Reply:
    """A blocked prompt: no candidates, ``promptFeedback.blockReason``, HTTP 200."""
    return Reply(json={"promptFeedback": {"blockReason": reason}, "usageMetadata": {"promptTokenCount": 9,
                                                                                     "totalTokenCount": 9},
                       "modelVersion": "gemini-3.1-flash-image", "responseId": f"resp-{next(_GEN_IDS)}"})


def messages_reply(text: str, model: str = "claude-sonnet-4-6", stop_reason: str = "end_turn") -> Reply:
    """An Anthropic Messages API response whose only content block is ``text``."""
    body = {
        "id": f"msg_fake_{next(_GEN_IDS)}",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": [{"type": "text", "text": text}],
        "stop_reason": stop_reason,
        "stop_sequence": None,
        "usage": {"input_tokens": 1500, "output_tokens": 120},
    }
    return Reply(json=body)


#: GET /models entries: id -> (name, output modalities, pricing). OpenRouter's OpenAPI spec
#: (openapi/openapi.yaml in OpenRouterTeam/docs, schema ``PublicPricing``): USD strings; ``image`` is
#: the price per *input* image, ``image_output`` per output image, ``image_token`` per image token.
#: Token-billed models quote their output image price per token in ``image_output`` as well.
_MODELS: dict[str, tuple[str, list[str], dict[str, str]]] = {
    "google/gemini-2.5-flash-image": ("Google: Nano Banana", ["image", "text"], {
        "prompt": "0.0000003", "completion": "0.0000025", "image": "0.001238", "image_output": "0.00003",
        "request": "0"}),
    "openai/gpt-5-image": ("OpenAI: GPT-5 Image", ["image", "text"], {
        "prompt": "0.00001", "completion": "0.00001", "image": "0.01", "image_token": "0.00004", "request": "0"}),
    "black-forest-labs/flux.2-pro": ("Black Forest Labs: FLUX.2 Pro", ["image"], {
        "prompt": "0", "completion": "0", "image": "0.015", "image_output": "0.03", "request": "0"}),
}


def model_entry(model_id: str, name: str | None = None, outputs: Sequence[str] = ("image", "text"),
                pricing: dict[str, str] | None = None, expiration_date: str | None = None) -> dict[str, Any]:
    """One ``GET /models`` entry in OpenRouter's shape (OpenAPI spec ``Model``: prices are USD
    strings; ``expiration_date`` is "the date after which the model may be removed", nullable)."""
    return {"id": model_id, "name": name or model_id, "context_length": 32768,
            "architecture": {"input_modalities": ["text", "image"], "output_modalities": list(outputs)},
            "pricing": pricing or {"prompt": "0.0000003", "completion": "0.0000025", "image_output": "0.00003",
                                   "request": "0"},
            "expiration_date": expiration_date}


#: What ``GET /models?output_modalities=text`` lists by default: the review and enhance chains' models.
TEXT_MODELS = ("google/gemini-3.5-flash", "google/gemini-3.1-flash-lite", "anthropic/claude-sonnet-4.6",
               "openai/gpt-5.2")


def text_models_reply(ids: Sequence[str] = TEXT_MODELS) -> Reply:
    """``GET /models?output_modalities=text`` (OpenRouter's models API: "text: models that produce text
    output (default)"): text models in the same ``Model`` shape under ``data``."""
    return Reply(json={"data": [model_entry(model_id, outputs=("text",)) for model_id in ids]})


def models_reply(entries: Sequence[dict[str, Any]] | None = None) -> Reply:
    """``GET /models``: ``entries`` (default: three image models) under ``data``."""
    if entries is None:
        entries = [model_entry(model_id, name, outputs, pricing)
                   for model_id, (name, outputs, pricing) in _MODELS.items()]
    return Reply(json={"data": list(entries)})


#: What Google's GET /v1beta/models lists by default: its GA image models (not the shut-down previews).
GEMINI_MODELS = ["gemini-3.1-flash-image", "gemini-3-pro-image", "gemini-3.1-flash-lite-image", "gemini-3.5-flash"]


def gemini_models_reply(ids: Sequence[str] = tuple(GEMINI_MODELS), page_token: str | None = None) -> Reply:
    """``GET /v1beta/models``: ``{"models": [{"name": "models/<id>", "supportedGenerationMethods"}],
    "nextPageToken"}`` (ai.google.dev API reference, models.list)."""
    models = [{"name": f"models/{i}", "baseModelId": i, "version": "001", "displayName": i,
               "supportedGenerationMethods": ["generateContent", "countTokens", "batchGenerateContent"]}
              for i in ids]
    return Reply(json={"models": models, **({"nextPageToken": page_token} if page_token else {})})


_RATIOS = ["1:1", "2:3", "3:2", "3:4", "4:3", "4:5", "5:4", "9:16", "16:9", "21:9"]
#: GET /images/models: id -> (name, outputs, supported_parameters, endpoint pricing lines)
IMAGE_MODELS: dict[str, tuple[str, list[str], dict[str, Any], list[dict[str, Any]]]] = {
    "google/gemini-3.1-flash-image": (
        "Google: Nano Banana 2", ["image", "text"],
        {"aspect_ratio": {"type": "enum", "values": _RATIOS + ["1:4", "4:1", "1:8", "8:1"]},
         "resolution": {"type": "enum", "values": ["512", "1K", "2K", "4K"]},
         "n": {"type": "range", "min": 1, "max": 1},
         "input_references": {"type": "range", "min": 0, "max": 14}, "seed": {"type": "boolean"}},
        [{"billable": "output_image", "unit": "image", "cost_usd": 0.067},
         {"billable": "output_image", "unit": "image", "cost_usd": 0.101, "variant": "2k"},
         {"billable": "output_image", "unit": "image", "cost_usd": 0.151, "variant": "4k"}]),
    "black-forest-labs/flux.2-pro": (
        "Black Forest Labs: FLUX.2 Pro", ["image"],
        {"aspect_ratio": {"type": "enum", "values": _RATIOS},
         "resolution": {"type": "enum", "values": ["1K", "2K", "4K"]},
         "seed": {"type": "boolean"}, "n": {"type": "range", "min": 1, "max": 4},
         "input_references": {"type": "range", "min": 0, "max": 8}},
        [{"billable": "output_image", "unit": "megapixel", "cost_usd": 0.03}]),
    "openai/gpt-5-image": (
        "OpenAI: GPT-5 Image", ["image", "text"],
        {"aspect_ratio": {"type": "enum", "values": ["1:1", "2:3", "3:2"]},
         "quality": {"type": "enum", "values": ["auto", "low", "medium", "high"]},
         "background": {"type": "enum", "values": ["auto", "transparent", "opaque"]},
         "output_format": {"type": "enum", "values": ["png", "jpeg", "webp"]},
         "n": {"type": "range", "min": 1, "max": 10},
         "input_references": {"type": "range", "min": 0, "max": 8}},
        [{"billable": "output_image", "unit": "token", "cost_usd": 0.00004}]),
}


def image_models_reply() -> Reply:
    """``GET /images/models``: the discovery list (OpenAPI ``ImageModelsListResponse``: ``{"data": [...]}``,
    each item with ``supported_parameters`` descriptors and ``endpoints``, the relative URL of its
    per-endpoint records)."""
    data = [{"id": model_id, "name": name, "description": f"{name}.", "created": 1764547200,
             "architecture": {"input_modalities": ["text", "image"], "output_modalities": outputs},
             "supported_parameters": parameters, "supports_streaming": False,
             "endpoints": f"/api/v1/images/models/{model_id}/endpoints"}
            for model_id, (name, outputs, parameters, _) in IMAGE_MODELS.items()]
    return Reply(json={"data": data})


def image_endpoints_reply(model_id: str) -> Reply:
    """``GET /images/models/{author}/{slug}/endpoints``: OpenAPI ``ImageModelEndpointsResponse``,
    ``{"id", "endpoints": [...]}`` at top level (no ``data`` wrapper); each ``ImageEndpoint`` has
    ``provider_name``, ``provider_slug``, ``provider_tag``, ``supported_parameters`` (descriptors,
    the definitive set for that endpoint), ``allowed_passthrough_parameters``, ``supports_streaming``
    and ``pricing`` lines (``ImagePricingEntry``: ``billable``, ``unit``, ``cost_usd``, ``variant``?)."""
    if model_id not in IMAGE_MODELS:
        return error_reply(404, f"Model {model_id} not found")
    name, _, parameters, pricing = IMAGE_MODELS[model_id]
    author = model_id.split("/")[0]
    endpoint = {"provider_name": name.split(":")[0], "provider_slug": author, "provider_tag": author,
                "supported_parameters": parameters, "allowed_passthrough_parameters": [],
                "supports_streaming": False, "pricing": pricing}
    return Reply(json={"id": model_id, "endpoints": [endpoint]})


# --------------------------------------------------------------------------------------------
# The server
# --------------------------------------------------------------------------------------------

ROUTES: dict[tuple[str, str], str] = {
    ("POST", "/api/v1/chat/completions"): "chat",
    ("POST", "/api/v1/images"): "images",
    ("GET", "/api/v1/key"): "key",
    ("GET", "/api/v1/models"): "models",
    ("GET", "/api/v1/images/models"): "image_models",
    ("GET", "/api/v1/generation"): "generation",
    ("POST", "/v1/images/edits"): "edits",
    ("GET", "/v1/models"): "openai_models",
    ("GET", "/v1beta/models"): "gemini_models",
    ("POST", "/v1/messages"): "messages",
}
ROUTES[("POST", "/v1/images/generations")] = "generations"
ROUTES[("POST", "/v1/files")] = "openai_file_create"
ROUTES[("POST", "/v1/batches")] = "openai_batch_create"
ROUTES[("GET", "/v1/batches")] = "openai_batch_list"
ROUTES[("GET", "/v1beta/batches")] = "gemini_batch_list"
ROUTES[("POST", "/upload/v1beta/files")] = "gemini_upload"
# (method, path pattern) -> route, for paths that carry an id or a model.
PATTERNS: tuple[tuple[str, re.Pattern[str], str], ...] = (
    ("POST", re.compile(r"/v1beta/models/[^/:]+:generateContent"), "gemini"),
    ("POST", re.compile(r"/v1beta/models/[^/:]+:batchGenerateContent"), "gemini_batch_create"),
    ("GET", re.compile(r"/v1beta/batches/[^/:]+"), "gemini_batch_get"),
    ("POST", re.compile(r"/v1beta/batches/[^/:]+:cancel"), "gemini_batch_cancel"),
    ("GET", re.compile(r"/download/v1beta/files/[^/:]+:download"), "gemini_download"),
    ("POST", re.compile(r"/upload/v1beta/files"), "gemini_upload"),
    ("GET", re.compile(r"/v1/files/[^/]+/content"), "openai_file_content"),
    ("GET", re.compile(r"/v1/batches/[^/]+"), "openai_batch_get"),
    ("POST", re.compile(r"/v1/batches/[^/]+/cancel"), "openai_batch_cancel"),
)
ROUTE_NAMES = frozenset(ROUTES.values()) | {route for _, _, route in PATTERNS} | {"files", "image_endpoints", "unknown",
                                                                               "text_models"}
#: Vector models: the Images API answers them with SVG (a stand-in id for Recraft's vector models).
VECTOR_MODELS = ("recraft/recraft-v4-vector",)
#: Model id prefixes of image-only models (checked only with ``FakeAPI.strict_modalities``).
IMAGE_ONLY_PREFIXES = ("black-forest-labs/", "bytedance-seed/", "recraft")


# --------------------------------------------------------------------------------------------
# Keys and body shapes: what each provider refuses before it does any work
# --------------------------------------------------------------------------------------------

#: The keys the fake accepts, per provider. tests/conftest.py puts the first four in every run's
#: environment; a test that sets another key adds it with ``fake.keys[provider].add(key)``.
OPENROUTER_TEST_KEY = "sk-or-test-KEYMARKER-4f1d2c"
OPENAI_TEST_KEY = "sk-openai-test-KEYMARKER-9a8b"
ANTHROPIC_TEST_KEY = "sk-anthropic-test-KEYMARKER-77c1"
GEMINI_TEST_KEY = "gm-test-KEYMARKER-5e6f7a8b"


def accepted_keys() -> dict[str, set[str]]:
    """A fresh copy of the keys every FakeAPI starts with."""
    return {"openrouter": {OPENROUTER_TEST_KEY}, "openai": {OPENAI_TEST_KEY}, "anthropic": {ANTHROPIC_TEST_KEY},
            "gemini": {GEMINI_TEST_KEY}}


def _bearer(record: Recorded) -> str | None:
    scheme, _, token = record.headers.get("authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def _unknown_fields(request: dict[str, Any], allowed: frozenset[str]) -> list[str]:
    return sorted(name for name in request if name not in allowed)


#: Top-level fields of POST /chat/completions (OpenRouterTeam/docs openapi.yaml ``ChatGenerationParams``
#: and api-reference/parameters.mdx). OpenRouter itself drops some fields it does not know; the fake
#: refuses them, so a misspelt field fails a test instead of being ignored silently.
OPENROUTER_CHAT_FIELDS = frozenset((
    "messages", "prompt", "model", "models", "route", "provider", "user", "session_id", "metadata", "stream",
    "stream_options", "max_tokens", "max_completion_tokens", "temperature", "top_p", "top_k", "top_a", "min_p",
    "frequency_penalty", "presence_penalty", "repetition_penalty", "seed", "stop", "logit_bias", "logprobs",
    "top_logprobs", "response_format", "structured_outputs", "tools", "tool_choice", "parallel_tool_calls",
    "prediction", "reasoning", "usage", "transforms", "plugins", "modalities", "image_config", "verbosity", "debug",
    "prompt_upsampling"))  # a FLUX parameter OpenRouter passes through to Black Forest Labs
#: Top-level fields of POST /images (openapi.yaml ``ImageGenerationRequest``; model and prompt required).
OPENROUTER_IMAGES_FIELDS = frozenset((
    "model", "prompt", "n", "resolution", "aspect_ratio", "size", "quality", "output_format", "background",
    "output_compression", "seed", "stream", "input_references", "provider", "user"))
#: Routes under /api/v1 that need a key (``/models`` and the image catalogue are public).
OPENROUTER_KEYED_ROUTES = frozenset(("chat", "images", "key", "generation"))


def openrouter_request_problem(record: Recorded, keys: set[str]) -> Reply | None:
    """OpenRouter's answer to a request without a valid key or with a body it cannot take.

    No key: 401 ``{"error": {"message": "No auth credentials found", "code": 401}}``; an unknown
    key: 401 "User not found." (the shapes of api-reference/errors-and-debugging.mdx, messages as the
    service sends them). A body without ``messages`` (chat) or ``model``/``prompt`` (images), or
    with a field the OpenAPI spec does not declare: 400 in the same ``{"error": {"code", "message"}}``.
    """
    if record.route not in OPENROUTER_KEYED_ROUTES:
        return None
    token = _bearer(record)
    if token is None:
        return Reply(status=401, json={"error": {"message": "No auth credentials found", "code": 401}})
    if token not in keys:
        return Reply(status=401, json={"error": {"message": "User not found.", "code": 401}})
    if record.route not in ("chat", "images"):
        return None
    request = record.json
    if not isinstance(request, dict):
        return error_reply(400, "Input validation error: the body is not a JSON object")
    if record.route == "chat":
        allowed = OPENROUTER_CHAT_FIELDS
        missing = [] if request.get("messages") or request.get("prompt") else ["messages"]
    else:
        allowed, missing = OPENROUTER_IMAGES_FIELDS, [name for name in ("model", "prompt") if not request.get(name)]
    if missing:
        return error_reply(400, f"Input validation error: {', '.join(missing)}: Required")
    unknown = _unknown_fields(request, allowed)
    if unknown:
        return error_reply(400, f"Input validation error: Unrecognized key(s) in object: {', '.join(unknown)}")
    return None


#: Top-level fields of POST /v1/messages (anthropic-sdk-python ``MessageCreateParamsBase``;
#: model, max_tokens and messages required).
ANTHROPIC_MESSAGES_FIELDS = frozenset((
    "model", "max_tokens", "messages", "system", "metadata", "stop_sequences", "stream", "temperature", "top_p",
    "top_k", "tools", "tool_choice", "thinking", "service_tier", "container", "mcp_servers", "context_management",
    "output_config", "inference_geo"))


def anthropic_request_problem(record: Recorded, keys: set[str]) -> Reply | None:
    """The Messages API's answer to a request without a valid key, version or body.

    401 ``authentication_error`` "x-api-key header is required" / "invalid x-api-key"; 400
    ``invalid_request_error`` "anthropic-version: header is required", "<field>: Field required" and
    "<field>: Extra inputs are not permitted" (docs.anthropic.com api/errors and api/versioning;
    the body is ``{"type": "error", "error": {"type", "message"}}``).
    """
    key = record.headers.get("x-api-key", "").strip()
    if not key:
        return anthropic_error_reply(401, "x-api-key header is required")
    if key not in keys:
        return anthropic_error_reply(401, "invalid x-api-key")
    if not record.headers.get("anthropic-version"):
        return anthropic_error_reply(400, "anthropic-version: header is required")
    request = record.json
    if not isinstance(request, dict):
        return anthropic_error_reply(400, "The request body is not valid JSON.")
    missing = [name for name in ("model", "max_tokens", "messages") if name not in request]
    if missing:
        return anthropic_error_reply(400, f"{missing[0]}: Field required")
    unknown = _unknown_fields(request, ANTHROPIC_MESSAGES_FIELDS)
    if unknown:
        return anthropic_error_reply(400, f"{unknown[0]}: Extra inputs are not permitted")
    return None


#: Top-level fields of POST /v1/images/generations and /v1/images/edits (openai-python
#: ``image_generate_params.py``, ``image_edit_params.py``; ``markup`` is GPT Image 2.5's, api-notes).
OPENAI_GENERATIONS_FIELDS = frozenset((
    "prompt", "model", "n", "quality", "size", "style", "user", "background", "moderation", "output_compression",
    "output_format", "partial_images", "stream", "response_format"))
OPENAI_EDITS_FIELDS = frozenset((
    "image", "image[]", "mask", "prompt", "model", "n", "quality", "size", "user", "background", "input_fidelity",
    "output_compression", "output_format", "partial_images", "stream", "response_format", "markup"))


def openai_request_problem(record: Recorded, keys: set[str]) -> Reply | None:
    """OpenAI's answer to a request without a valid key, or an images body it cannot take.

    401 "You didn't provide an API key..." (code null) or "Incorrect API key provided: sk-ab***cd..."
    (code ``invalid_api_key``, the key shown masked); 400 ``invalid_request_error`` "Missing required
    parameter: 'prompt'." (``missing_required_parameter``) or "Unknown parameter: 'x'."
    (``unknown_parameter``, ``param`` naming it) — the ``{"error": {"message", "type", "param",
    "code"}}`` of platform.openai.com/docs/guides/error-codes.
    """
    token = _bearer(record)
    if token is None:
        return openai_error_reply(401, "You didn't provide an API key. You need to provide your API key in an "
                                       "Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).")
    if token not in keys:
        shown = f"{token[:3]}{'*' * max(0, len(token) - 7)}{token[-4:]}" if len(token) > 8 else "***"
        return openai_error_reply(401, f"Incorrect API key provided: {shown}. You can find your API key at "
                                       "https://platform.openai.com/account/api-keys.", code="invalid_api_key")
    if record.route == "generations":
        request = record.json if isinstance(record.json, dict) else {}
        fields, allowed = set(request), OPENAI_GENERATIONS_FIELDS
        missing = [] if isinstance(request.get("prompt"), str) else ["prompt"]
    elif record.route == "edits":
        fields, allowed = {part.name for part in record.parts or [] if part.name}, OPENAI_EDITS_FIELDS
        missing = [name for name in ("prompt",) if name not in fields]
        missing += [] if fields & {"image", "image[]"} else ["image"]
    else:
        return None
    if missing:
        return openai_error_reply(400, f"Missing required parameter: '{missing[0]}'.", param=missing[0],
                                  code="missing_required_parameter")
    unknown = sorted(fields - allowed)
    if unknown:
        return openai_error_reply(400, f"Unknown parameter: '{unknown[0]}'.", param=unknown[0],
                                  code="unknown_parameter")
    return None


#: Top-level fields of a GenerateContentRequest (ai.google.dev/api/generate-content#request-body), in
#: both JSON spellings the API accepts (lowerCamelCase and the proto's snake_case).
GEMINI_REQUEST_FIELDS = frozenset((
    "contents", "tools", "toolConfig", "tool_config", "safetySettings", "safety_settings", "systemInstruction",
    "system_instruction", "generationConfig", "generation_config", "cachedContent", "cached_content", "model"))


def gemini_key_problem(record: Recorded, keys: set[str]) -> Reply | None:
    """No key: 403 PERMISSION_DENIED "Method doesn't allow unregistered callers..."; a wrong one: 400
    INVALID_ARGUMENT with ErrorInfo reason API_KEY_INVALID (ai.google.dev troubleshooting). The key
    comes in ``x-goog-api-key`` or ``?key=``."""
    key = record.headers.get("x-goog-api-key") or record.query.get("key")
    if not key:
        return gemini_error_reply(403, "Method doesn't allow unregistered callers (callers without established "
                                       "identity). Please use API Key or other form of API consumer identity to "
                                       "call this API.")
    return None if key in keys else gemini_bad_key_reply()


def gemini_request_problem(record: Recorded, keys: set[str] | None = None) -> Reply | None:
    """The error the Gemini API gives a request without a valid key (``keys``: the accepted ones; None
    takes any), or with a generateContent body it cannot take: no ``contents``, or a field it does not
    know (400 INVALID_ARGUMENT ``Invalid JSON payload received. Unknown name "x": Cannot find field.``,
    with a BadRequest field violation, as the API answers any unknown JSON name)."""
    problem = gemini_key_problem(record, keys if keys is not None else {record.headers.get("x-goog-api-key")
                                                                        or record.query.get("key") or ""})
    if problem is not None:
        return problem
    request = record.json
    contents = request.get("contents") if isinstance(request, dict) else None
    if not isinstance(contents, list) or not contents:
        return gemini_error_reply(400, "* GenerateContentRequest.contents: contents is not specified")
    unknown = _unknown_fields(request, GEMINI_REQUEST_FIELDS)
    if unknown:
        message = f'Invalid JSON payload received. Unknown name "{unknown[0]}": Cannot find field.'
        violation = {"@type": "type.googleapis.com/google.rpc.BadRequest",
                     "fieldViolations": [{"description": message}]}
        return gemini_error_reply(400, message, details=[violation])
    return None


def route_for(method: str, path: str, query: str = "") -> str:
    if method == "GET" and path == "/api/v1/models" \
            and dict(parse_qsl(query)).get("output_modalities", "text") == "text":
        return "text_models"  # OpenRouter's models API: without the filter it lists text models only
    if method == "GET" and path.startswith("/files/"):
        return "files"
    if method == "GET" and path.startswith("/api/v1/images/models/") and path.endswith("/endpoints"):
        return "image_endpoints"
    if (method, path) in ROUTES:
        return ROUTES[(method, path)]
    return next((route for verb, pattern, route in PATTERNS if verb == method and pattern.fullmatch(path)), "unknown")


def _read_chunked(rfile: BinaryIO) -> bytes:
    body = bytearray()
    while True:
        size = int(rfile.readline().split(b";")[0].strip() or b"0", 16)
        if size == 0:
            break
        body += rfile.read(size)
        rfile.readline()
    while rfile.readline() not in (b"\r\n", b"\n", b""):
        pass  # trailer fields
    return bytes(body)


def _parse_json(body: bytes) -> Any:
    try:
        return jsonlib.loads(body) if body else None
    except ValueError:
        return None


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "FakeAPI/1.0"
    timeout = 120  # idle keep-alive connections give up eventually
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        """Silent: tests read recordings, not logs."""

    def do_GET(self) -> None:
        self._serve()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_GET

    def _serve(self) -> None:
        fake = self.server.fake
        record = self._record()
        with fake._answering():
            fake._remember(record)
            self._send(fake._resolve(record))

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            return _read_chunked(self.rfile)
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = 0
        return self.rfile.read(length) if length > 0 else b""

    def _record(self) -> Recorded:
        url = urlsplit(self.path)
        body = self._read_body()
        headers = {name.lower(): value for name, value in self.headers.items()}
        content_type = headers.get("content-type", "")
        is_form = content_type.lower().startswith("multipart/form-data")
        try:
            parts = parse_multipart(body, content_type) if is_form else None
        except ValueError:
            parts = []  # unparseable form: recorded with no parts; edits then answers 400
        return Recorded(
            route=route_for(self.command, url.path, url.query),
            method=self.command,
            path=url.path,
            query=dict(parse_qsl(url.query, keep_blank_values=True)),
            headers=headers,
            body=body,
            json=None if is_form else _parse_json(body),
            parts=parts,
        )

    def _send(self, reply: Reply) -> None:
        if reply.delay:
            time.sleep(reply.delay)
        if reply.stall is not None and reply.stall_after is None:
            reply.stall.wait(60)
        if reply.reset:
            self._reset()
            return
        body = reply.payload()
        self.send_response(reply.status)
        for name, value in reply.header_items(len(body)):
            self.send_header(name, value)
        self.end_headers()
        if reply.truncate is not None:
            body = body[: reply.truncate]
            self.close_connection = True
        if reply.stall is not None and reply.stall_after is not None:
            self.wfile.write(body[: reply.stall_after])
            self.wfile.flush()
            reply.stall.wait(60)
            body = body[reply.stall_after :]
        self._write(body, reply.drip, reply.drip_chunk)

    def _write(self, body: bytes, drip: float | None, chunk: int) -> None:
        if drip is None:
            self.wfile.write(body)
            return
        step = max(1, chunk)
        for start in range(0, len(body), step):
            if start:
                time.sleep(drip)
            self.wfile.write(body[start : start + step])
            self.wfile.flush()

    def _reset(self) -> None:
        """Abort with RST: linger 0; the descriptor closes once the handler lets go of it."""
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.connection.close()
        self.close_connection = True


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], fake: FakeAPI) -> None:
        self.fake = fake
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(address, _Handler)

    def server_bind(self) -> None:
        """Bind without HTTPServer's reverse DNS lookup (getfqdn can be slow)."""
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._connections_lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Clients that hang up mid-reply are expected; only real bugs get a traceback."""
        if not isinstance(sys.exc_info()[1], OSError):
            super().handle_error(request, client_address)

    def close_connections(self) -> None:
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            with suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)


class FakeAPI:
    """The fake OpenRouter + OpenAI + Anthropic server. See the module docstring."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.latency = 0.0  #: seconds slept before every default reply
        self.chat_cost = 0.04  #: usage.cost of each image a default chat or Images API reply carries
        self.hold: threading.Event | None = None  #: when set, default replies wait for it (a reply held back)
        self.default_image_scale = 1.0  #: default images are the size asked times this
        self.default_image_bytes: bytes | None = None  #: if set, default replies send these
        self.strict_modalities = False  #: 404 for ["image","text"] sent to image-only models
        self.no_sampling_models: list[str] = []  #: more model ids (prefixes) that refuse temperature and top_p
        #: model ids every route answers with its provider's own "no such model" reply
        self.gone_models: set[str] = set()
        #: More images than asked in every default image reply, each billed like the first: a real
        #: Gemini reply through OpenRouter brought two images when one was asked, billed for both
        #: (OpenRouter prices image output per image: ``pricing.image`` / ``output_image``).
        self.extra_images = 0
        self.errors: list[str] = []  #: tracebacks of exceptions raised by callable replies
        self.keys = accepted_keys()  #: provider -> the API keys it accepts (others get its real 401)
        self._address = (host, port)
        self._lock = threading.Lock()
        self._requests: list[Recorded] = []
        self._queues: dict[str, deque[ReplyLike]] = {}
        self._files: dict[str, tuple[bytes, str]] = {}
        self._reviews: deque[tuple[str, dict[str, Any]]] = deque()
        self._in_flight = self._peak = 0
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        from tests.fake_batch import GeminiBatches, OpenAIBatches

        #: Gemini Batch Mode's and OpenAI's Batch API's state; each answers a request at the size it asks
        self.gemini_batches = GeminiBatches(lambda request: self._image(gemini_asked_size(request)))
        self.openai_batches = OpenAIBatches(lambda body: self._image(openai_asked_size(body.get("size"))))

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> FakeAPI:
        if self._server is None:
            self._server = _Server(self._address, self)
            self._thread = threading.Thread(
                target=self._server.serve_forever, kwargs={"poll_interval": 0.005}, name="fake-api", daemon=True
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        server, thread, self._server, self._thread = self._server, self._thread, None, None
        if server is None:
            return
        server.shutdown()
        server.close_connections()
        server.server_close()
        if thread is not None:
            thread.join(timeout=5)

    def __enter__(self) -> FakeAPI:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- addresses ---------------------------------------------------------------------------

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("FakeAPI is not started")
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def openrouter_url(self) -> str:
        return self.url + "/api/v1"

    @property
    def openai_url(self) -> str:
        return self.url + "/v1"

    @property
    def anthropic_url(self) -> str:
        return self.url

    @property
    def gemini_url(self) -> str:
        return self.url + "/v1beta"

    def env(self) -> dict[str, str]:
        """Environment variables pointing image-gen at this fake."""
        return {
            "OPENROUTER_BASE_URL": self.openrouter_url,
            "OPENAI_BASE_URL": self.openai_url,
            "ANTHROPIC_BASE_URL": self.anthropic_url,
            "GEMINI_BASE_URL": self.gemini_url,
        }

    # -- scripting and recording -------------------------------------------------------------

    def enqueue(self, route: str, *replies: ReplyLike) -> None:
        """Queue replies for ``route``; they are served in order, then defaults resume."""
        if route not in ROUTE_NAMES:
            raise ValueError(f"unknown route {route!r}; expected one of {sorted(ROUTE_NAMES)}")
        with self._lock:
            self._queues.setdefault(route, deque()).extend(replies)

    def script_reviews(self, *verdicts: str | tuple[str, dict[str, Any]]) -> None:
        """Script the next vision reviews, one per round, whichever provider reviews: each an
        ``"accept"``, ``"refine"`` or ``"reject"`` (or ``(verdict, overrides)``), served in order to
        review requests only (Anthropic's /v1/messages, or an OpenRouter chat completion asking for
        text), so image calls on the same chat route are not consumed. Defaults resume after."""
        with self._lock:
            for item in verdicts:
                verdict, overrides = (item, {}) if isinstance(item, str) else item
                if verdict not in VERDICT_REVIEWS:
                    raise ValueError(f"unknown verdict {verdict!r}; expected one of {sorted(VERDICT_REVIEWS)}")
                self._reviews.append((verdict, overrides))

    def _next_review(self) -> dict[str, Any] | None:
        with self._lock:
            if not self._reviews:
                return None
            verdict, overrides = self._reviews.popleft()
        return {**VERDICT_REVIEWS[verdict], **overrides}

    def pending(self, route: str) -> int:
        """How many queued replies ``route`` has not served yet."""
        with self._lock:
            return len(self._queues.get(route, ()))

    def add_file(self, name: str, data: bytes, content_type: str = "image/png") -> str:
        """Serve ``data`` at ``GET /files/<name>`` and return its full URL."""
        with self._lock:
            self._files[name] = (data, content_type)
        return f"{self.url}/files/{quote(name)}"

    @property
    def requests(self) -> list[Recorded]:
        """A snapshot of every request received, oldest first."""
        with self._lock:
            return list(self._requests)

    def requests_for(self, route: str) -> list[Recorded]:
        return [record for record in self.requests if record.route == route]

    def clear(self) -> None:
        """Forget recorded requests, queued replies and errors (files and settings stay)."""
        with self._lock:
            self._requests.clear()
            self._queues.clear()
            self._reviews.clear()
            self.errors.clear()
            self._peak = self._in_flight

    @property
    def peak_concurrency(self) -> int:
        """The most requests that were being answered at the same time."""
        with self._lock:
            return self._peak

    # -- used by the handler -----------------------------------------------------------------

    def _remember(self, record: Recorded) -> None:
        with self._lock:
            self._requests.append(record)

    @contextmanager
    def _answering(self) -> Iterator[None]:
        """Count requests being answered, for :attr:`peak_concurrency`."""
        with self._lock:
            self._in_flight += 1
            self._peak = max(self._peak, self._in_flight)
        try:
            yield
        finally:
            with self._lock:
                self._in_flight -= 1

    def _refusal(self, record: Recorded) -> Reply | None:
        """What the provider answers before any work: a missing or wrong key, or a body it cannot take.
        Checked before scripted replies too (a refused request does not use one up)."""
        route = record.route
        if route in OPENROUTER_KEYED_ROUTES:
            return openrouter_request_problem(record, self.keys["openrouter"])
        if route == "messages":
            return anthropic_request_problem(record, self.keys["anthropic"])
        if route in ("generations", "edits", "openai_models") or route.startswith(("openai_file", "openai_batch")):
            return openai_request_problem(record, self.keys["openai"])
        if route == "gemini":
            return gemini_request_problem(record, self.keys["gemini"])
        if route.startswith("gemini_batch") or route in ("gemini_models", "gemini_download") or (
                route == "gemini_upload" and record.headers.get("x-goog-upload-command") == "start"):
            return gemini_key_problem(record, self.keys["gemini"])
        return None

    def _resolve(self, record: Recorded) -> Reply:
        refused = self._refusal(record)
        if refused is not None:
            return refused
        with self._lock:
            queue = self._queues.get(record.route)
            scripted = queue.popleft() if queue else None
        try:
            reply = scripted(record) if callable(scripted) and not isinstance(scripted, Reply) else scripted
            return self._at_asked_size(reply, record) if reply is not None else self._default(record)
        except Exception as exc:  # a broken callable reply must not kill the connection silently
            with self._lock:
                self.errors.append(traceback.format_exc())
            return error_reply(500, f"fake_api: reply raised {exc!r}")

    def _at_asked_size(self, reply: Reply, record: Recorded) -> Reply:
        """``reply`` with each ASKED_SIZE_PNG swapped for a picture of the size ``record`` asks."""
        size = asked_size(record)
        if reply.body is not None or reply.json is None or size is None:
            return reply
        text = jsonlib.dumps(reply.json)
        if _ASKED_SIZE_B64 not in text:
            return reply
        picture = base64.b64encode(self._image(size)).decode("ascii")
        return dataclass_replace(reply, json=jsonlib.loads(text.replace(_ASKED_SIZE_B64, picture)))

    # -- default replies ---------------------------------------------------------------------

    def _default(self, record: Recorded) -> Reply:
        if self.latency:
            time.sleep(self.latency)
        if self.hold is not None:
            self.hold.wait(60)
        gone = self._gone_reply(record)
        return gone if gone is not None else getattr(self, f"_default_{record.route}")(record)

    def _gone_reply(self, record: Recorded) -> Reply | None:
        """The provider's own not-found reply when the request names a model in :attr:`gone_models`."""
        if not self.gone_models:
            return None
        if record.route == "gemini":
            model = unquote(record.path.rsplit("/", 1)[-1].split(":", 1)[0])
            return gemini_not_found_reply(model) if model in self.gone_models else None
        if record.route == "edits":
            model = record.form.get("model", "")
        else:
            model = str(record.json.get("model", "")) if isinstance(record.json, dict) else ""
        if model not in self.gone_models:
            return None
        if record.route in ("chat", "images"):
            return openrouter_invalid_model_reply(model)
        if record.route in ("generations", "edits"):
            return openai_model_not_found_reply(model)
        if record.route == "messages":
            return anthropic_model_not_found_reply(model)
        return None

    def _image(self, size: tuple[int, int]) -> bytes:
        """The default reply's image: a fresh picture of the ``size`` asked (times ``default_image_scale``)."""
        if self.default_image_bytes is not None:
            return self.default_image_bytes
        width, height = size
        scale = self.default_image_scale
        return make_picture(max(1, round(width * scale)), max(1, round(height * scale)))

    def _default_chat(self, record: Recorded) -> Reply:
        request = record.json if isinstance(record.json, dict) else {}
        model = str(request.get("model") or DEFAULT_CHAT_MODEL)
        modalities = request.get("modalities")
        if not isinstance(modalities, list) or "image" not in modalities:
            rejected = rejects_sampling(model, request, self.no_sampling_models)
            if rejected:
                return openrouter_upstream_error_reply(400, sampling_rejected_json(rejected))
            scripted = self._next_review()
            return openrouter_text_reply(review_text(**(scripted or {})), model=model)  # like OpenRouter: text only
        if self.strict_modalities and "text" in modalities and model.startswith(IMAGE_ONLY_PREFIXES):
            return error_reply(404, "No endpoints found that support the requested output modalities: image, text")
        count = 1 + self.extra_images
        return chat_image_reply([self._image(chat_asked_size(request))] * count, model=model,
                                cost=self._charge(count))

    def _default_images(self, record: Recorded) -> Reply:
        request = record.json if isinstance(record.json, dict) else {}
        count = request.get("n") if isinstance(request.get("n"), int) else 1
        count = max(1, min(count, 10))
        if request.get("model") in VECTOR_MODELS or request.get("output_format") == "svg":
            return vector_images_reply([make_svg()] * count)
        count += self.extra_images
        return images_reply([self._image(images_asked_size(request))] * count, cost=self._charge(count))

    def _charge(self, images: int) -> float | None:
        return None if self.chat_cost is None else round(self.chat_cost * images, 6)

    def _default_edits(self, record: Recorded) -> Reply:
        form = record.form
        images = record.parts_named("image") or record.parts_named("image[]")
        count = int(form["n"]) if form.get("n", "").isdigit() else 1
        size = openai_asked_size(form.get("size"), images[0].data)
        return edits_reply([self._image(size)] * (max(1, min(count, 10)) + self.extra_images),
                           quality=form.get("quality") or "auto", size=f"{size[0]}x{size[1]}",
                           model=form.get("model") or "gpt-image-2")

    def _default_generations(self, record: Recorded) -> Reply:
        request = record.json if isinstance(record.json, dict) else {}
        if "response_format" in request and str(request.get("model", "")).startswith("gpt-image"):
            return openai_error_reply(400, "Unknown parameter: 'response_format'.")
        count = request.get("n") if isinstance(request.get("n"), int) else 1
        size = openai_asked_size(request.get("size"))
        return generations_reply([self._image(size)] * max(1, min(count, 10)), size=f"{size[0]}x{size[1]}",
                                 quality=str(request.get("quality") or "auto"),
                                 model=str(request.get("model") or "gpt-image-2"))

    def _default_gemini(self, record: Recorded) -> Reply:
        model = record.path.rsplit("/", 1)[-1].split(":", 1)[0]
        return gemini_reply([self._image(gemini_asked_size(record.json))], model=model)

    def _default_gemini_batch_create(self, record: Recorded) -> Reply:
        return self.gemini_batches.create(record)

    def _default_gemini_batch_get(self, record: Recorded) -> Reply:
        return self.gemini_batches.get(record)

    def _default_gemini_batch_list(self, record: Recorded) -> Reply:
        return self.gemini_batches.list(record)

    def _default_gemini_batch_cancel(self, record: Recorded) -> Reply:
        return self.gemini_batches.cancel(record)

    def _default_gemini_upload(self, record: Recorded) -> Reply:
        return self.gemini_batches.upload(record, self.url)

    def _default_gemini_download(self, record: Recorded) -> Reply:
        return self.gemini_batches.download(record)

    def _default_openai_file_create(self, record: Recorded) -> Reply:
        return self.openai_batches.upload(record)

    def _default_openai_file_content(self, record: Recorded) -> Reply:
        return self.openai_batches.content(record)

    def _default_openai_batch_create(self, record: Recorded) -> Reply:
        return self.openai_batches.create(record)

    def _default_openai_batch_get(self, record: Recorded) -> Reply:
        return self.openai_batches.get(record)

    def _default_openai_batch_list(self, record: Recorded) -> Reply:
        return self.openai_batches.list(record)

    def _default_openai_batch_cancel(self, record: Recorded) -> Reply:
        return self.openai_batches.cancel(record)

    def _default_messages(self, record: Recorded) -> Reply:
        request = record.json if isinstance(record.json, dict) else {}
        rejected = rejects_sampling(str(request.get("model") or ""), request, self.no_sampling_models)
        if rejected:
            return sampling_rejected_reply(rejected)
        scripted = self._next_review()
        return messages_reply(review_text(**(scripted or {})), model=str(request.get("model") or "claude-sonnet-4-6"))

    def _default_key(self, record: Recorded) -> Reply:
        data = {"limit": 10, "limit_remaining": 7.5, "usage": 2.5, "usage_daily": 0.5, "is_free_tier": False}
        return Reply(json={"data": data})

    def _default_models(self, record: Recorded) -> Reply:
        return models_reply()

    def _default_text_models(self, record: Recorded) -> Reply:
        return text_models_reply()

    def _default_openai_models(self, record: Recorded) -> Reply:
        ids = ["gpt-image-2", "gpt-image-2.5-flare", "gpt-4.1", "dall-e-3"]
        return Reply(json={"object": "list", "data": [{"id": i, "object": "model", "owned_by": "openai"} for i in ids]})

    def _default_gemini_models(self, record: Recorded) -> Reply:
        return gemini_models_reply()

    def _default_image_models(self, record: Recorded) -> Reply:
        return image_models_reply()

    def _default_image_endpoints(self, record: Recorded) -> Reply:
        return image_endpoints_reply(unquote(record.path[len("/api/v1/images/models/"):-len("/endpoints")]))

    def _default_generation(self, record: Recorded) -> Reply:
        gen_id = record.query.get("id", "gen-unknown")
        return Reply(json={"data": {"id": gen_id, "model": DEFAULT_CHAT_MODEL, "total_cost": 0.04, "usage": 0.04}})

    def _default_files(self, record: Recorded) -> Reply:
        with self._lock:
            found = self._files.get(unquote(record.path[len("/files/") :]))
        if found is None:
            return error_reply(404, f"fake_api: no file at {record.path}")
        return Reply(body=found[0], content_type=found[1])

    def _default_unknown(self, record: Recorded) -> Reply:
        return error_reply(404, f"fake_api: no route for {record.method} {record.path}")


# --------------------------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    """Serve until SIGTERM/SIGINT after printing one JSON line with the base URLs."""
    parser = argparse.ArgumentParser(description="Loopback fake of the OpenRouter, OpenAI and Anthropic APIs.")
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0: any free port)")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds before every default reply")
    parser.add_argument("--image-mb", type=float, default=0.0, help="default images are noise PNGs of about N MB")
    args = parser.parse_args(argv)
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # tests.fake_batch, run as a script
    fake = FakeAPI(port=args.port)
    fake.latency = args.latency
    if args.image_mb > 0:
        fake.default_image_bytes = make_png_of_size(int(args.image_mb * 1024 * 1024))
    stopping = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stopping.set())
    with fake:
        urls = {"url": fake.url, **{k: getattr(fake, k) for k in ("openrouter_url", "openai_url", "anthropic_url")}}
        print(jsonlib.dumps(urls), flush=True)
        while not stopping.wait(0.2):
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
