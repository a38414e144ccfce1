"""Small previews of saved images, for a tool call that asked for ``inline_preview``.

Standard library only, so only PNG can be shrunk (``images.png`` reads its pixels): a file that is
already small is sent as it is; a larger PNG is scaled down (nearest neighbour, at most
:data:`SIDE` pixels a side); anything else is named in the result's text instead of being sent.

The bytes of a file reach the client only when it is a regular file (opened non-blocking, so a
FIFO or ``/dev/stdin`` is never read), at most :data:`MAX_READ_BYTES`, whose first bytes are an
image's signature (its name counts for nothing): a key file named ``x.png`` is not an image.
"""

from __future__ import annotations

import struct
from pathlib import Path

from ..record import Record

SIDE = 256
AS_IS_BYTES = 256 * 1024  # a file this small goes as it is
MAX_PIXELS = 2048 * 2048  # decoding a larger PNG in pure Python takes seconds
MAX_READ_BYTES = 32 * 1024 * 1024  # a PNG larger than this is not shrunk here
MIME_TYPES = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".webp": "image/webp",
              ".gif": "image/gif"}


class Preview(Record):
    mime_type: str
    data: bytes


def mime_type(path: Path) -> str:
    return MIME_TYPES.get(path.suffix.lower(), "application/octet-stream")


def _shrunk_png(data: bytes) -> bytes:
    from ..images import png

    if data[12:16] != b"IHDR":
        raise png.PngError("no IHDR chunk")
    width, height = struct.unpack(">II", data[16:24])
    if not 0 < width * height <= MAX_PIXELS:
        raise png.PngError(f"{width}x{height} is too large to shrink here")
    width, height, rows = png.decode_rgba(data)
    scale = max(width, height, SIDE) / SIDE
    new_width, new_height = max(1, round(width / scale)), max(1, round(height / scale))
    columns = [min(width - 1, int(x * width / new_width)) * 4 for x in range(new_width)]
    shrunk = []
    for y in range(new_height):
        row = rows[min(height - 1, int(y * height / new_height))]
        shrunk.append(bytearray(b"".join(row[c:c + 4] for c in columns)))
    return png.encode_rgba(new_width, new_height, shrunk)


def preview(path: Path) -> Preview | str:
    """A small copy of the image at ``path``, or why there is none."""
    from ..images.files import FORMATS, sniff_format
    from ..localjson import read_bytes

    try:
        data = read_bytes(path, MAX_READ_BYTES, follow_links=True)
        found = sniff_format(data[:16])
        if found is None:
            return f"no preview of {path.name}: not a recognised image"
        if len(data) <= AS_IS_BYTES:
            return Preview(FORMATS[found], data)
        if found != "png":
            return f"no preview of {path.name}: only PNG files can be shrunk here (open the resource link)"
        return Preview("image/png", _shrunk_png(data))
    except (OSError, ValueError) as error:
        return f"no preview of {path.name}: {error}"
