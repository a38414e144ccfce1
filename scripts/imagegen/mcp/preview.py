"""Small previews of saved images, for a tool call that asked for ``inline_preview``.

Standard library only, so only PNG can be shrunk (``images.png`` reads its pixels): a file that is
already small is sent as it is; a larger PNG is scaled down (nearest neighbour, at most
:data:`SIDE` pixels a side); anything else is named in the result's text instead of being sent.
"""

from __future__ import annotations

import struct
from pathlib import Path
from typing import NamedTuple

SIDE = 256
AS_IS_BYTES = 256 * 1024  # a file this small goes as it is
MAX_PIXELS = 2048 * 2048  # decoding a larger PNG in pure Python takes seconds
MIME_TYPES = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".webp": "image/webp",
              ".gif": "image/gif"}


class Preview(NamedTuple):
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
    kind = mime_type(path)
    try:
        size = path.stat().st_size
        if size <= AS_IS_BYTES:
            return Preview(kind, path.read_bytes())
        if kind != "image/png":
            return f"no preview of {path.name}: only PNG files can be shrunk here (open the resource link)"
        return Preview("image/png", _shrunk_png(path.read_bytes()))
    except (OSError, ValueError) as error:
        return f"no preview of {path.name}: {error}"
