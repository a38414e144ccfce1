"""Whether an image is blank: one flat colour, the failure a model sometimes returns instead of a picture.

A blank image is not worth a paid review (the review loop counts it as a reject for free). Only
PNGs are read (the standard library decodes nothing else); any other format, or a PNG this module
cannot read, is not called blank, so the review judges it. Rows are decoded one at a time and the
reading stops at the first pixel that differs, so a real picture costs a row or two, not a decode.
"""

from __future__ import annotations

import struct
import zlib

from . import png

TOLERANCE = 3  # levels per channel: encoders dither a flat fill by a step or two
MAX_PIXELS = 64 * 1024 * 1024


def looks_blank(data: bytes) -> bool:
    """True when every pixel of the PNG ``data`` is one colour (within :data:`TOLERANCE`)."""
    try:
        return _flat(data)
    except (png.PngError, zlib.error, struct.error, IndexError, ValueError):
        return False


def _flat(data: bytes) -> bool:
    chunks = png._chunks(data)
    if not chunks or chunks[0][0] != b"IHDR" or len(chunks[0][1]) != 13:
        return False
    width, height, depth, color_type, _, _, interlace = struct.unpack(">IIBBBBB", chunks[0][1])
    if depth != 8 or color_type not in png.CHANNELS or interlace or not 0 < width * height <= MAX_PIXELS:
        return False
    palette_data = b"".join(body for kind, body in chunks if kind == b"PLTE")
    palette = [palette_data[i:i + 3] for i in range(0, len(palette_data), 3)]
    alpha = b"".join(body for kind, body in chunks if kind == b"tRNS") if color_type == 3 else b""
    bpp = png.CHANNELS[color_type]
    stride = width * bpp
    stream = zlib.decompressobj()
    pending = bytearray()
    previous = bytearray(stride)
    first: bytes | None = None
    rows = 0
    for kind, body in chunks:
        if kind != b"IDAT":
            continue
        pending += stream.decompress(body, (stride + 1) * 64)
        while True:
            while len(pending) >= stride + 1:
                row = bytearray(pending[1:stride + 1])
                png._unfilter(pending[0], row, previous, bpp)
                del pending[:stride + 1]
                rgba = png._to_rgba(bytes(row), color_type, palette, alpha)
                first = first if first is not None else bytes(rgba[:4])
                if not _all_near(rgba, first):
                    return False
                previous = row
                rows += 1
                if rows == height:
                    return True
            if not stream.unconsumed_tail:
                break
            pending += stream.decompress(stream.unconsumed_tail, (stride + 1) * 64)
    return False  # the data ended before the last row: not an image we can call blank


def _all_near(rgba: bytearray, pixel: bytes) -> bool:
    if rgba == pixel * (len(rgba) // 4):
        return True
    for channel in range(4):
        values = rgba[channel::4]
        if max(values) - pixel[channel] > TOLERANCE or pixel[channel] - min(values) > TOLERANCE:
            return False
    return True
