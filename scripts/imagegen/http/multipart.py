"""multipart/form-data bodies built as a list of chunks, so large files are never copied twice."""

from __future__ import annotations

import os

from ..record import Record


class FilePart(Record):
    field: str
    filename: str
    content_type: str
    data: bytes


def _quote(value: str) -> str:
    """Escape a name or filename the way browsers do (WHATWG HTML form encoding).

    A backslash is escaped too: servers that follow RFC 2045 quoting would otherwise read it as
    an escape character and drop it (or, at the end of a name, lose the closing quote).
    """
    return value.replace("\r", "%0D").replace("\n", "%0A").replace('"', "%22").replace("\\", "%5C")


def _disposition(field: str, filename: str | None = None) -> bytes:
    text = f'Content-Disposition: form-data; name="{_quote(field)}"'
    if filename is not None:
        text += f'; filename="{_quote(filename)}"'
    return text.encode("utf-8")


def encode(fields: list[tuple[str, str]], files: list[FilePart]) -> tuple[str, list[bytes], int]:
    """Return (content type, body chunks, body length) for ``fields`` and ``files``."""
    boundary = "imagegen-" + os.urandom(16).hex()
    marker = boundary.encode("ascii")
    if any(marker in part.data for part in files) or any(boundary in v for _, v in fields):
        return encode(fields, files)  # astronomically unlikely; draw another boundary
    dash = b"--" + marker + b"\r\n"
    chunks: list[bytes] = []
    for name, value in fields:
        chunks += [dash, _disposition(name), b"\r\n\r\n", value.encode("utf-8"), b"\r\n"]
    for part in files:
        content_type = part.content_type.replace("\r", "").replace("\n", "")
        chunks += [
            dash,
            _disposition(part.field, part.filename),
            f"\r\nContent-Type: {content_type}\r\n\r\n".encode("ascii"),
            part.data,
            b"\r\n",
        ]
    chunks.append(b"--" + marker + b"--\r\n")
    return f"multipart/form-data; boundary={boundary}", chunks, sum(map(len, chunks))
