"""PNG pixels in the standard library: decode to 8-bit RGBA rows and encode them back.

Used where pixels themselves matter (``edit.py --keep-unmasked`` puts the original's pixels back
outside the mask). Non-interlaced 8-bit greyscale, RGB, palette, grey+alpha and RGBA files are read;
anything else raises :class:`PngError` with the reason, for the caller to report.
"""

from __future__ import annotations

import struct
import zlib

SIGNATURE = b"\x89PNG\r\n\x1a\n"
CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}


class PngError(ValueError):
    """A PNG this module cannot read (its reason says why)."""


def _chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    if not data.startswith(SIGNATURE):
        raise PngError("not a PNG file")
    found, position = [], 8
    while position + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[position:position + 8])
        found.append((kind, data[position + 8:position + 8 + length]))
        position += 12 + length
        if kind == b"IEND":
            break
    return found


def _unfilter(kind: int, row: bytearray, previous: bytearray, bpp: int) -> None:
    size = len(row)
    if kind == 1:
        for i in range(bpp, size):
            row[i] = (row[i] + row[i - bpp]) & 255
    elif kind == 2:
        for i in range(size):
            row[i] = (row[i] + previous[i]) & 255
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
    elif kind != 0:
        raise PngError(f"unknown filter type {kind}")


def _to_rgba(row: bytes, color_type: int, palette: list[bytes], alpha: bytes) -> bytearray:
    if color_type == 6:
        return bytearray(row)
    out = bytearray()
    if color_type == 2:
        for i in range(0, len(row), 3):
            out += row[i:i + 3] + b"\xff"
    elif color_type == 0:
        for value in row:
            out += bytes((value, value, value, 255))
    elif color_type == 4:
        for i in range(0, len(row), 2):
            out += bytes((row[i], row[i], row[i], row[i + 1]))
    else:  # palette
        for index in row:
            if index >= len(palette):
                raise PngError("a pixel names a palette entry that does not exist")
            out += palette[index] + (alpha[index:index + 1] or b"\xff")
    return out


def decode_rgba(data: bytes) -> tuple[int, int, list[bytearray]]:
    """(width, height, rows of RGBA bytes) of a PNG file."""
    chunks = _chunks(data)
    if not chunks or chunks[0][0] != b"IHDR" or len(chunks[0][1]) != 13:
        raise PngError("no IHDR chunk")
    width, height, depth, color_type, _, _, interlace = struct.unpack(">IIBBBBB", chunks[0][1])
    if depth != 8 or color_type not in CHANNELS:
        raise PngError(f"only 8-bit PNGs are read (this one has bit depth {depth}, colour type {color_type})")
    if interlace:
        raise PngError("interlaced PNGs are not read")
    if width * height > 64 * 1024 * 1024:
        raise PngError(f"{width}x{height} is too large to composite")
    palette_data = b"".join(body for kind, body in chunks if kind == b"PLTE")
    palette = [palette_data[i:i + 3] for i in range(0, len(palette_data), 3)]
    alpha = b"".join(body for kind, body in chunks if kind == b"tRNS") if color_type == 3 else b""
    try:
        raw = zlib.decompress(b"".join(body for kind, body in chunks if kind == b"IDAT"))
    except zlib.error as error:
        raise PngError(f"its image data is damaged ({error})") from None
    bpp = CHANNELS[color_type]
    stride = width * bpp
    if len(raw) < (stride + 1) * height:
        raise PngError("its image data is shorter than its size says")
    rows, previous = [], bytearray(stride)
    for y in range(height):
        start = y * (stride + 1)
        row = bytearray(raw[start + 1:start + 1 + stride])
        _unfilter(raw[start], row, previous, bpp)
        rows.append(_to_rgba(bytes(row), color_type, palette, alpha))
        previous = row
    return width, height, rows


def encode_rgba(width: int, height: int, rows: list[bytearray]) -> bytes:
    """An RGBA PNG of ``rows`` (no filtering: the pixels are kept exactly)."""
    raw = b"".join(b"\x00" + bytes(row) for row in rows)
    header = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    return SIGNATURE + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 6)) + chunk(b"IEND", b"")


def chunk(kind: bytes, payload: bytes) -> bytes:
    """One PNG chunk: length, type, data and the CRC of type and data."""
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))
