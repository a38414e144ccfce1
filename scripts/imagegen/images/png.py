"""PNG pixels in the standard library: read 8-bit RGBA rows one at a time, and encode rows back.

Used where pixels themselves matter: ``edit.py --keep-unmasked`` puts the original's pixels back
outside the mask, a drawn or given mask is measured, a saved image is checked for blankness.
Non-interlaced 8-bit greyscale, RGB, palette, grey+alpha and RGBA files are read; anything else
raises :class:`PngError` with the reason, for the caller to report.

:func:`read_rows` reads its source as the rows are asked for, so a caller that looks at one row
at a time holds one row (and a bounded piece of compressed data), whatever the image's size.
Rows filtered "none", "sub" and "up" (what encoders choose for flat areas) are undone by
whole-row operations; "average" and "paeth" need a per-byte loop.
"""

from __future__ import annotations

import io
import struct
import sys
import zlib
from array import array
from collections.abc import Iterable, Iterator
from itertools import accumulate
from typing import BinaryIO

SIGNATURE = b"\x89PNG\r\n\x1a\n"
CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}
PIECE = 64 * 1024
MAX_SIDE = 1 << 20  # wider than any image a provider makes; keeps a row's buffer sane
MAX_PIXELS = 64 * 1024 * 1024  # what decode_rgba, which holds every row, accepts


class PngError(ValueError):
    """A PNG this module cannot read (its reason says why)."""


class Header:
    """What comes before the image data: size, colour type, palette and transparency."""

    __slots__ = ("alpha", "color_type", "height", "palette", "width")

    def __init__(self, width: int, height: int, color_type: int, palette: bytes, alpha: bytes) -> None:
        self.width, self.height, self.color_type = width, height, color_type
        self.palette, self.alpha = palette, alpha


def _read_exact(stream: BinaryIO, size: int) -> bytes:
    data = stream.read(size)
    if len(data) != size:
        raise PngError("the file ends early")
    return data


def _skip(stream: BinaryIO, size: int) -> None:
    while size > 0:
        piece = stream.read(min(size, PIECE))
        if not piece:
            raise PngError("the file ends early")
        size -= len(piece)


def read_header(stream: BinaryIO) -> tuple[Header, int]:
    """The header, with ``stream`` left at the first IDAT chunk's data (and that chunk's length)."""
    if stream.read(8) != SIGNATURE:
        raise PngError("not a PNG file")
    length, kind = struct.unpack(">I4s", _read_exact(stream, 8))
    if kind != b"IHDR" or length != 13:
        raise PngError("no IHDR chunk")
    width, height, depth, color_type, _, _, interlace = struct.unpack(">IIBBBBB", _read_exact(stream, 13))
    _skip(stream, 4)
    if depth != 8 or color_type not in CHANNELS:
        raise PngError(f"only 8-bit PNGs are read (this one has bit depth {depth}, colour type {color_type})")
    if interlace:
        raise PngError("interlaced PNGs are not read")
    if not (0 < width <= MAX_SIDE and 0 < height <= MAX_SIDE):
        raise PngError(f"{width}x{height} is not a size this reader takes")
    palette = alpha = b""
    while True:
        length, kind = struct.unpack(">I4s", _read_exact(stream, 8))
        if kind == b"IDAT":
            return Header(width, height, color_type, palette, alpha), length
        if kind == b"IEND":
            raise PngError("it has no image data")
        if kind == b"PLTE" and length <= 768:
            palette = _read_exact(stream, length)
        elif kind == b"tRNS" and length <= 256 and color_type in (0, 2, 3):
            alpha = _read_exact(stream, length)  # palette: alpha per entry; grey, RGB: the one transparent colour
        else:
            _skip(stream, length)
        _skip(stream, 4)


def read_rows(source: BinaryIO | bytes) -> tuple[int, int, Iterator[bytearray]]:
    """(width, height, the RGBA rows as they are decoded). The header's faults raise PngError at
    once; the image data's, as the rows are read."""
    stream = io.BytesIO(source) if isinstance(source, (bytes, bytearray)) else source
    header, length = read_header(stream)
    return header.width, header.height, _rows(stream, header, length)


def _rows(stream: BinaryIO, header: Header, length: int) -> Iterator[bytearray]:
    bpp = CHANNELS[header.color_type]
    stride = header.width * bpp
    need = stride + 1
    inflater = zlib.decompressobj()
    buffer = bytearray()
    previous = bytearray(stride)
    to_rgba = _converter(header)
    for _ in range(header.height):
        while len(buffer) < need:
            try:
                if inflater.unconsumed_tail:
                    buffer += inflater.decompress(inflater.unconsumed_tail, max(need, PIECE))
                    continue
                if inflater.eof:
                    raise PngError("its image data is shorter than its size says")
                if length == 0:
                    _skip(stream, 4)
                    length, kind = struct.unpack(">I4s", _read_exact(stream, 8))
                    if kind != b"IDAT":
                        raise PngError("its image data is shorter than its size says")
                    continue
                piece = _read_exact(stream, min(length, PIECE))
                length -= len(piece)
                buffer += inflater.decompress(piece, max(need, PIECE))
            except zlib.error as error:
                raise PngError(f"its image data is damaged ({error})") from None
        row = buffer[1:need]
        _unfilter(buffer[0], row, previous, bpp)
        del buffer[:need]
        yield to_rgba(row)
        previous = row


def _added(a: bytes | bytearray, b: bytes | bytearray) -> bytes:
    """Each byte of ``a`` plus the same byte of ``b``, modulo 256, in whole-integer arithmetic."""
    size = len(a)
    low, high = int.from_bytes(b"\x7f" * size, "big"), int.from_bytes(b"\x80" * size, "big")
    x, y = int.from_bytes(a, "big"), int.from_bytes(b, "big")
    return (((x & low) + (y & low)) ^ ((x ^ y) & high)).to_bytes(size, "big")  # no carry crosses a byte


_LITTLE = sys.byteorder == "little"


def _running_sums(values: bytes | bytearray) -> bytes:
    """Running sums of ``values`` modulo 256 (what the "sub" filter needs per channel)."""
    sums = array("I", accumulate(values))
    raw = sums.tobytes()
    step = sums.itemsize
    return raw[0::step] if _LITTLE else raw[step - 1::step]


def _unfilter(kind: int, row: bytearray, previous: bytearray, bpp: int) -> None:
    size = len(row)
    if kind == 0:
        return
    if kind == 1:
        for channel in range(bpp):
            row[channel::bpp] = _running_sums(row[channel::bpp])
    elif kind == 2:
        row[:] = _added(row, previous)
    elif kind == 3:
        for i in range(size):
            left = row[i - bpp] if i >= bpp else 0
            row[i] = (row[i] + ((left + previous[i]) >> 1)) & 255
    elif kind == 4:
        for i in range(size):
            a = row[i - bpp] if i >= bpp else 0
            b = previous[i]
            c = previous[i - bpp] if i >= bpp else 0
            p = a + b - c
            pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
            row[i] = (row[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
    else:
        raise PngError(f"unknown filter type {kind}")


def _converter(header: Header):
    """A function from one decoded row to RGBA, by slice assignment (no per-pixel loop)."""
    color_type, width = header.color_type, header.width
    opaque = b"\xff" * width
    if color_type == 6:
        return lambda row: row

    def rgba(red: bytes | bytearray, green: bytes | bytearray, blue: bytes | bytearray,
             alpha: bytes | bytearray) -> bytearray:
        out = bytearray(4 * width)
        out[0::4], out[1::4], out[2::4], out[3::4] = red, green, blue, alpha
        return out

    if color_type in (0, 2) and len(header.alpha) == (2 if color_type == 0 else 6):
        key = header.alpha[1::2]  # 16-bit samples; an 8-bit image uses their low bytes
        plain = _converter(Header(width, header.height, color_type, b"", b""))
        size = len(key)

        def keyed(row: bytearray) -> bytearray:
            out = plain(row)
            at = row.find(key)
            while at >= 0:
                if at % size == 0:
                    out[4 * (at // size) + 3] = 0
                at = row.find(key, at + 1)
            return out

        return keyed
    if color_type == 2:
        return lambda row: rgba(row[0::3], row[1::3], row[2::3], opaque)
    if color_type == 0:
        return lambda row: rgba(row, row, row, opaque)
    if color_type == 4:
        return lambda row: rgba(row[0::2], row[0::2], row[0::2], row[1::2])
    palette, entries = header.palette, len(header.palette) // 3
    tables = [bytes(palette[3 * i + c] if i < entries else 0 for i in range(256)) for c in range(3)]
    tables.append(bytes((header.alpha[i] if i < len(header.alpha) else 255) for i in range(256)))

    def from_palette(row: bytearray) -> bytearray:
        if row and max(row) >= entries:
            raise PngError("a pixel names a palette entry that does not exist")
        red, green, blue, alpha = (row.translate(table) for table in tables)
        return rgba(red, green, blue, alpha)

    return from_palette


def decode_rgba(data: bytes) -> tuple[int, int, list[bytearray]]:
    """(width, height, every row of RGBA bytes) of a PNG file held in memory."""
    width, height, rows = read_rows(data)
    if width * height > MAX_PIXELS:
        raise PngError(f"{width}x{height} is too large to composite")
    return width, height, list(rows)


def encode_rgba(width: int, height: int, rows: Iterable[bytes | bytearray]) -> bytes:
    """An RGBA PNG of ``rows`` (no filtering: the pixels are kept exactly), compressed as they come."""
    compressor = zlib.compressobj(6)
    parts = [compressor.compress(b"\x00" + bytes(row)) for row in rows]
    parts.append(compressor.flush())
    header = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    return SIGNATURE + chunk(b"IHDR", header) + chunk(b"IDAT", b"".join(parts)) + chunk(b"IEND", b"")


def chunk(kind: bytes, payload: bytes) -> bytes:
    """One PNG chunk: length, type, data and the CRC of type and data."""
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))
