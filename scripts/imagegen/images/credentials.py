"""Content Credentials (C2PA) in a file as it streams past: PNG ``caBX`` chunks, JPEG APP11 JUMBF
segments, WebP ``C2PA`` chunks.

A C2PA manifest binds itself to the file's bytes, so a file that carries one must be saved exactly
as the provider sent it: adding any chunk of ours would break the binding. The scanner reads only
the structure (chunk and segment headers), skipping over their data, so it costs nothing per byte.
"""

from __future__ import annotations

import struct

JUMBF_BOX = b"jumb"


class CredentialScanner:
    """Feed it a file's bytes in order; ``found`` says whether C2PA credentials were among them."""

    def __init__(self, fmt: str) -> None:
        self.fmt = fmt
        self.found = False
        self.png_chunks: list[bytes] = []  # the PNG chunk types seen, in order
        self._skip = {"png": 8, "jpeg": 2, "webp": 12}.get(fmt, -1)  # the signature or file header
        self._header = b""
        self._peek = b""  # the first bytes of an APP11 segment, to tell JUMBF from other JPEG XT data
        self._peek_wanted = 0
        self._done = self._skip < 0

    def feed(self, data: bytes) -> None:
        index, size = 0, len(data)
        while index < size and not self._done:
            if self._peek_wanted:
                take = min(self._peek_wanted, size - index)
                self._peek += data[index:index + take]
                self._peek_wanted -= take
                self._skip -= take
                index += take
                if not self._peek_wanted and JUMBF_BOX in self._peek:
                    self.found = True
                continue
            if self._skip > 0:
                take = min(self._skip, size - index)
                self._skip -= take
                index += take
                continue
            need = self._header_size() - len(self._header)
            self._header += data[index:index + need]
            index += min(need, size - index)
            if len(self._header) == self._header_size():
                self._read_header(self._header)
                self._header = b""

    def _header_size(self) -> int:
        return 4 if self.fmt == "jpeg" else 8

    def _read_header(self, header: bytes) -> None:
        if self.fmt == "png":
            length, kind = struct.unpack(">I4s", header)
            self.png_chunks.append(kind)
            self.found = self.found or kind == b"caBX"
            self._skip = length + 4  # data and CRC
            self._done = kind == b"IEND"
        elif self.fmt == "webp":
            kind, length = struct.unpack("<4sI", header)
            self.found = self.found or kind == b"C2PA"
            self._skip = length + (length & 1)  # chunks are padded to an even size
        else:
            self._read_jpeg_segment(header)

    def _read_jpeg_segment(self, header: bytes) -> None:
        if header[0] != 0xFF or header[1] in (0xD9, 0xDA):  # not a segment, end of image or start of scan
            self._done = True
            return
        (length,) = struct.unpack(">H", header[2:])
        self._skip = max(0, length - 2)
        if header[1] == 0xEB:  # APP11: JPEG XT boxes, C2PA among them
            self._peek, self._peek_wanted = b"", min(16, self._skip)
