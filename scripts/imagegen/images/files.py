"""Image bytes: real format from magic bytes, dimensions from headers, safe loading of inputs."""

from __future__ import annotations

import base64
import errno
import os
import stat
import struct
from pathlib import Path

from ..errors import UsageError
from ..record import Record

FORMATS = {"png": "image/png", "jpeg": "image/jpeg", "webp": "image/webp", "gif": "image/gif",
           "svg": "image/svg+xml"}
EXTENSIONS = {"png": ".png", "jpeg": ".jpg", "webp": ".webp", "gif": ".gif", "svg": ".svg"}
HEADER_BYTES = 64 * 1024
MB = 1024 * 1024
# No input this project sends is larger; a header that claims more is damaged or hostile (a mask
# drawn for it, or a decoder, would need gigabytes).
MAX_SIDE = 16384
MAX_MEGAPIXELS = 64


def sniff_format(head: bytes) -> str | None:
    """'png', 'jpeg', 'webp', 'gif' or None, from the first bytes of a file."""
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "gif"
    return None


def dimensions(head: bytes, fmt: str | None = None) -> tuple[int, int] | None:
    """(width, height) read from an image header, or None when the header does not say."""
    fmt = fmt or sniff_format(head)
    try:
        if fmt == "png" and head[12:16] == b"IHDR":
            return struct.unpack(">II", head[16:24])
        if fmt == "gif":
            return struct.unpack("<HH", head[6:10])
        if fmt == "webp":
            return _webp_size(head)
        if fmt == "jpeg":
            return _jpeg_size(head)
        if fmt == "svg":
            from .svg import size_of_head

            return size_of_head(head)
    except struct.error:
        return None
    return None


def _webp_size(head: bytes) -> tuple[int, int] | None:
    chunk = head[12:16]
    if chunk == b"VP8X":
        width = int.from_bytes(head[24:27], "little") + 1
        height = int.from_bytes(head[27:30], "little") + 1
        return width, height
    if chunk == b"VP8L":
        bits = int.from_bytes(head[21:25], "little")
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    if chunk == b"VP8 ":
        width, height = struct.unpack("<HH", head[26:30])
        return width & 0x3FFF, height & 0x3FFF
    return None


def _jpeg_size(head: bytes) -> tuple[int, int] | None:
    index = 2
    while index + 9 < len(head):
        if head[index] != 0xFF:
            index += 1
            continue
        marker = head[index + 1]
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7 or marker == 0xFF:
            index += 1 if marker == 0xFF else 2
            continue
        (length,) = struct.unpack(">H", head[index + 2 : index + 4])
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            height, width = struct.unpack(">HH", head[index + 5 : index + 9])
            return width, height
        index += 2 + length
    return None


def check_dimensions(size: tuple[int, int] | None, location: Path, role: str = "input image") -> None:
    """Refuse an image whose header claims a size no real input has, before any pixel work."""
    if size is None:
        return
    width, height = size
    if 0 < width <= MAX_SIDE and 0 < height <= MAX_SIDE and width * height <= MAX_MEGAPIXELS * 1_000_000:
        return
    raise UsageError(f"{role} {location} claims to be {width}x{height} pixels; at most {MAX_SIDE} a side and "
                     f"{MAX_MEGAPIXELS} megapixels are accepted",
                     details="downscale it first, or check that the file is not damaged")


def file_header(path: Path) -> bytes:
    """The first bytes of the regular file ``path`` (OSError for a FIFO or device: never read one)."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    with os.fdopen(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(errno.EINVAL, "not a regular file", str(path))
        return handle.read(HEADER_BYTES)


class InputImage(Record):
    """A local image read once, checked, and kept with what we know of it."""

    path: Path
    data: bytes
    format: str
    width: int | None
    height: int | None
    sha256: str

    @property
    def mime(self) -> str:
        return FORMATS[self.format]

    def data_url(self) -> str:
        return f"data:{self.mime};base64," + base64.b64encode(self.data).decode("ascii")


def load_input_image(
    path: str | os.PathLike[str],
    *,
    role: str = "input image",
    allowed: tuple[str, ...] = ("png", "jpeg", "webp", "gif"),
    max_mb: float = 20,
    flag: str = "--input-image",
) -> InputImage:
    """Open ``path`` once and check what was read: regular file, allowed format, size limit."""
    if not str(path).strip():
        raise UsageError(f"{role} path is empty", details=f"give an image file to {flag}")
    location = Path(path).expanduser()
    try:
        fd = os.open(location, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except FileNotFoundError:
        raise UsageError(f"{role} not found: {location}", details=f"check the path given to {flag}") from None
    except IsADirectoryError:
        raise UsageError(f"{role} is a directory, not a file: {location}") from None
    except PermissionError:
        raise UsageError(f"{role} is not readable: {location}", details="check its permissions") from None
    except OSError as error:
        raise UsageError(f"{role} cannot be opened: {location} ({error.strerror})") from None
    return read_image_fd(fd, location, role=role, allowed=allowed, max_mb=max_mb)


def read_image_fd(
    fd: int,
    location: Path,
    *,
    role: str = "input image",
    allowed: tuple[str, ...] = ("png", "jpeg", "webp", "gif"),
    max_mb: float = 20,
) -> InputImage:
    """Read and check the image open on ``fd`` (which this closes): the bytes checked are the bytes kept."""
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):
        os.close(fd)
        what = "a directory" if stat.S_ISDIR(info.st_mode) else "not a regular file"
        raise UsageError(f"{role} is {what}, not an image file: {location}")
    with os.fdopen(fd, "rb") as handle:
        limit = int(max_mb * MB)
        if info.st_size > limit:
            raise UsageError(
                f"{role} is too large: {location} is {info.st_size / MB:.1f} MB, the limit is {max_mb:g} MB",
                details="downscale or recompress it first",
            )
        try:
            data = handle.read(limit + 1)
        except OSError as error:  # an I/O error, or a special file that refuses reads (/proc/self/mem)
            raise UsageError(f"{role} cannot be read: {location} ({error.strerror or error})") from None
    if len(data) > limit:
        raise UsageError(f"{role} grew past {max_mb:g} MB while being read: {location}")
    fmt = sniff_format(data[:16])
    if fmt not in allowed:
        what = f"a {fmt.upper()} file" if fmt else "not a recognised image"
        names = "/".join(allowed)
        raise UsageError(f"{role} {location} is {what}; expected {names}", details="convert it to PNG or JPEG")
    size = dimensions(data[:HEADER_BYTES], fmt)
    check_dimensions(size, location, role)
    return InputImage(
        path=location.resolve(),
        data=data,
        format=fmt,
        width=size[0] if size else None,
        height=size[1] if size else None,
        sha256=_sha256(data),
    )


def _sha256(data: bytes) -> str:
    import hashlib  # loads OpenSSL: only when an image is actually read

    return hashlib.sha256(data).hexdigest()
