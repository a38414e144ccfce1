"""Local files read as input: the one way the project reads a JSON file it did not just write.

Every local JSON file (job, lease, index and batch records, sidecars, presets, caches, config) is
hostile until checked: it may be a FIFO or a device (a plain ``open`` would block or read forever),
a symbolic link, gigabytes long, not UTF-8, or valid JSON nested thousands deep (``json`` then
raises RecursionError, which ``except ValueError`` does not catch). :func:`read_json` opens it
non-blocking, checks it is a regular file, bounds its size and its nesting depth, and raises one
error, :class:`LocalFileError` (a ValueError), whatever went wrong. :func:`read_json_or_skip`
turns that into a note on stderr and ``None``, for a reader that skips a bad file and goes on.
"""

from __future__ import annotations

import os
import re
import stat
from array import array
from collections.abc import Callable
from itertools import accumulate
from pathlib import Path
from typing import Any, BinaryIO

MAX_BYTES = 1024 * 1024  # no file the project writes comes near this, except the ledger and caches
MAX_DEPTH = 64  # the deepest document the project writes is about 6 levels

_STRING = rb'"[^"\\]*(?:\\.[^"\\]*)*"'  # a JSON string, escapes included (compiled on use; re caches it)
_NOT_BRACKETS = bytes(sorted(set(range(256)) - set(b"[]{}")))  # deleted by bytes.translate
_STEP = bytes.maketrans(b"[{]}", b"\x01\x01\xff\xff")  # as signed bytes: +1 opens, -1 closes


class LocalFileError(ValueError):
    """A local file that cannot be used: not there as a regular file, too big, not UTF-8 JSON, too deep."""


def open_regular(path: str | Path, *, follow_links: bool = True) -> BinaryIO:
    """``path`` opened for reading without blocking, refused (LocalFileError) unless it is a regular file:
    for a reader that takes only part of a file (an image's header or chunks)."""
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    if not follow_links:
        flags |= getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise
    except OSError as error:
        raise LocalFileError(f"{Path(path).name}: cannot be opened ({error.strerror or error})") from None
    if not stat.S_ISREG(os.fstat(fd).st_mode):  # checked before fdopen, which refuses a directory itself
        os.close(fd)
        raise LocalFileError(f"{Path(path).name}: not a regular file")
    return os.fdopen(fd, "rb")


def read_bytes(path: str | Path, max_bytes: int = MAX_BYTES, *, follow_links: bool = False) -> bytes:
    """The bytes of the regular file ``path`` (at most ``max_bytes``), opened without blocking and,
    unless ``follow_links``, without following a link in its last component.

    FileNotFoundError when it is not there; LocalFileError for anything else that makes it unusable."""
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    if not follow_links:
        flags |= getattr(os, "O_NOFOLLOW", 0)
    name = Path(path).name
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise
    except OSError as error:  # ELOOP: a symbolic link; EACCES; ENXIO: a socket
        raise LocalFileError(f"{name}: cannot be opened ({error.strerror or error})") from None
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):  # checked before fdopen, which raises IsADirectoryError itself
        os.close(fd)
        raise LocalFileError(f"{name}: not a regular file")
    with os.fdopen(fd, "rb") as handle:
        if info.st_size > max_bytes:
            raise LocalFileError(f"{name}: {info.st_size} bytes, more than the {max_bytes} allowed")
        try:
            data = handle.read(max_bytes + 1)
        except OSError as error:
            raise LocalFileError(f"{name}: cannot be read ({error.strerror or error})") from None
    if len(data) > max_bytes:
        raise LocalFileError(f"{name}: grew past {max_bytes} bytes while being read")
    return data


def nesting_depth(data: bytes) -> int:
    """How deep the arrays and objects of the JSON text ``data`` nest (brackets inside strings do not
    count). Every step runs at C speed: strings cut out, brackets kept as signed bytes (+1, -1), and
    the deepest running sum taken."""
    if b'"' in data:
        data = re.sub(_STRING, b"", data, flags=re.DOTALL)
    steps = data.translate(_STEP, _NOT_BRACKETS)
    return max(accumulate(array("b", steps)), default=0)


def loads(data: bytes | str, *, max_depth: int = MAX_DEPTH, name: str = "the text",
          parse_constant: Callable[[str], Any] | None = None) -> Any:
    """``data`` as JSON, refused (LocalFileError) when it is not UTF-8 JSON or nests past ``max_depth``."""
    import json

    raw = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data
    if (raw.count(b"[") + raw.count(b"{")) > max_depth and nesting_depth(raw) > max_depth:
        raise LocalFileError(f"{name}: JSON nested deeper than {max_depth} levels")
    try:
        text = raw.decode("utf-8") if isinstance(data, bytes) else data
        return json.loads(text, parse_constant=parse_constant) if parse_constant else json.loads(text)
    except (ValueError, RecursionError) as error:  # UnicodeDecodeError is a ValueError
        raise LocalFileError(f"{name}: not readable JSON ({type(error).__name__}: {str(error)[:200]})") from None


def read_json(path: str | Path, max_bytes: int = MAX_BYTES, *, max_depth: int = MAX_DEPTH,
              follow_links: bool = False) -> Any:
    """The JSON document in the local file ``path``, checked as this module says (FileNotFoundError when
    it is not there, LocalFileError for any other trouble)."""
    return loads(read_bytes(path, max_bytes, follow_links=follow_links), max_depth=max_depth, name=Path(path).name)


def read_json_or_skip(path: str | Path, what: str, max_bytes: int = MAX_BYTES, *, follow_links: bool = True,
                      warnings: list[str] | None = None, missing_ok: bool = True) -> Any:
    """:func:`read_json`, or None with a note (on stderr, and in ``warnings`` when given) saying the
    file was skipped. A missing file is skipped silently unless ``missing_ok`` is False."""
    try:
        return read_json(path, max_bytes, follow_links=follow_links)
    except FileNotFoundError:
        if missing_ok:
            return None
        message = f"skipped {what} {path}: not found"
    except (LocalFileError, OSError) as error:
        message = f"skipped {what} {path}: {error}"
    from .progress import note

    note(message)
    if warnings is not None:
        warnings.append(message)
    return None
