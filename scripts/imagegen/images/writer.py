"""The one output writer: whole files only, never two writers on one name, real formats.

Bytes go to a hidden temp file beside the target, are fsynced, and then take their final name
with ``os.link`` (which fails if the name exists, so parallel runs each get their own ``-2``,
``-3`` ...) or ``os.replace`` when overwriting was asked for.

A temp file is ``flock``-ed by its writer until it has its final name, so the temp files of a
writer that was killed (the only ones nobody holds) can be told apart and swept away.
"""

from __future__ import annotations

import itertools
import json
import os
import struct
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ..config import redact
from ..contract import shorten
from ..errors import OutputError, OutputExistsError, UsageError
from ..fsutil import new_temp, sweep_abandoned, unlink_quietly, write_json_atomic
from . import blank, files

PNG_HEADER_LEN = 33  # signature (8) + IHDR chunk (25)
MAX_SUFFIX = 10_000


class SavedImage:
    """An image the writer saved: where, what it is, its sidecar, and any note about it."""

    __slots__ = ("path", "format", "width", "height", "bytes", "sha256", "sidecar", "warnings", "content_credentials",
                 "blank")

    def __init__(self, path: Path, format: str, width: int | None, height: int | None, bytes: int, sha256: str,
                 sidecar: Path | None = None, warnings: list[str] | None = None) -> None:
        self.path, self.format, self.width, self.height = path, format, width, height
        self.bytes, self.sha256, self.sidecar = bytes, sha256, sidecar
        self.warnings = warnings if warnings is not None else []
        self.content_credentials = False  # the file carries C2PA credentials (and is the provider's, unchanged)
        self.blank: str | None = None  # the one colour of an image that looks blank (images.blank.flat_colour)


def png_text_chunk(keyword: str, text: str) -> bytes:
    """An uncompressed iTXt chunk."""
    from .png import chunk

    return chunk(b"iTXt", keyword.encode("latin-1") + b"\x00\x00\x00" + b"\x00" + b"\x00" + text.encode("utf-8"))


def read_png_metadata(path: Path, limit: int = 16 * 1024 * 1024) -> dict[str, Any] | None:
    """The record ImageWriter put into a PNG (the ``image-gen`` iTXt chunk), or None.

    The chunk is found by walking the chunk headers (seeking over their data): it sits before IEND
    (after IHDR in files written by earlier versions)."""
    prefix = b"image-gen" + b"\x00" * 5  # keyword, then no compression, no language, no translation
    from ..localjson import loads, open_regular

    try:
        with open_regular(path) as handle:  # a FIFO where an image was expected is never waited on
            if handle.read(8) != b"\x89PNG\r\n\x1a\n":
                return None
            while True:
                header = handle.read(8)
                if len(header) < 8:
                    return None
                length, kind = struct.unpack(">I4s", header)
                if kind == b"iTXt" and length <= limit:
                    data = handle.read(length)
                    if data.startswith(prefix):
                        break
                    handle.seek(4, os.SEEK_CUR)
                elif kind == b"IEND":
                    return None
                else:
                    handle.seek(length + 4, os.SEEK_CUR)
    except (OSError, ValueError):
        return None
    try:
        record = loads(data[len(prefix):], name=path.name)
    except ValueError:
        return None
    return record if isinstance(record, dict) else None


def ensure_writable_dir(directory: Path) -> Path:
    """Create ``directory`` if needed and prove we can create files in it; UsageError if not."""
    try:
        directory.mkdir(parents=True, exist_ok=True)
        fd, probe = new_temp(directory, ".probe")
        unlink_quietly(probe)
        os.close(fd)
    except OSError as error:
        blocker = _file_in_the_way(directory)
        reason = f"{blocker} is a file, not a folder" if blocker else (error.strerror or str(error))
        raise UsageError(
            f"output directory is not writable: {shorten(str(directory), 200)} ({reason})",
            details="choose another --output-dir, or fix its permissions or free some space",
            kind="output_dir",
        ) from None
    return directory


def _file_in_the_way(directory: Path) -> Path | None:
    """The existing non-folder on the way to ``directory`` ("File exists" and "Not a directory" hide it)."""
    for candidate in [directory, *directory.parents]:
        try:
            if candidate.exists():
                return None if candidate.is_dir() else candidate
        except OSError:
            return None
    return None


class ImageWriter:
    """Names and writes the images of one run."""

    def __init__(self, output_dir: Path, output_file: Path | None, slug: str, *,
                 overwrite: bool = False, sidecars: bool = True) -> None:
        self.output_dir = output_dir
        self.output_file = output_file
        self.slug = slug
        self.overwrite = overwrite
        self.sidecars = sidecars
        self.stamp = time.strftime("%Y%m%d-%H%M%S")
        self.sweep = True  # off when the caller sweeps the folder itself (the queue worker, once a minute)

    def target_dir(self) -> Path:
        return self.output_file.parent if self.output_file else self.output_dir

    def check_before_request(self, count: int = 1) -> None:
        """Refuse early what would fail after paying: unwritable folder, an existing explicit file
        (each of the ``count`` names a run will take). Temp files a killed run left are cleared away."""
        ensure_writable_dir(self.target_dir())
        if self.sweep:
            sweep_abandoned(self.target_dir())
        if not self.output_file or self.overwrite:
            return
        for index in range(count):
            target = self._explicit(index)
            names = (target, target.with_name(target.name + ".json")) if self.sidecars else (target,)
            for name in names:
                try:
                    os.lstat(name)  # a dangling symlink takes the name too: link() would fail
                    taken = True
                except FileNotFoundError:
                    taken = False
                except OSError as error:  # a name too long for the file system (the sidecar's too), say
                    raise UsageError(f"--output-file is not a usable name: {shorten(str(target), 120)} "
                                     f"({error.strerror or error})", details="choose a shorter or simpler file name",
                                     kind="output_dir") from None
                if taken:
                    raise OutputExistsError(f"output exists: {name} (pass --overwrite to replace it)",
                                            details="or choose another --output-file")

    def explicit_targets(self, count: int = 1) -> list[Path]:
        """The files an explicit --output-file run of ``count`` images writes (none without one)."""
        return [self._explicit(index) for index in range(count)] if self.output_file else []

    def planned_name(self, index: int = 0, ext: str = ".png") -> Path:
        """The name an image would get (for --dry-run); the real one may take a -N suffix."""
        if self.output_file:
            return self._explicit(index)
        return self.output_dir / f"{self.stamp}-{self.slug}{ext}"

    def _explicit(self, index: int) -> Path:
        assert self.output_file is not None
        if index == 0:
            return self.output_file
        return self.output_file.with_name(f"{self.output_file.stem}-{index + 1}{self.output_file.suffix}")

    def save(self, chunks: Iterable[bytes], index: int, metadata: dict[str, Any], *,
             extra: bool = False) -> SavedImage:
        """Write one image of the run as its ``index``-th. ``extra``: an image the provider sent beyond
        those asked for: it takes the next free name and never replaces a file, even with overwrite."""
        directory = self.target_dir()
        try:
            fd, temp = new_temp(directory)
        except OSError as error:
            raise self._disk_error(directory, error) from None
        try:
            with os.fdopen(fd, "wb") as handle:
                streamed = _stream_image(handle, chunks, metadata)
                handle.flush()
                os.fsync(handle.fileno())
                saved = self._claim(Path(temp), streamed.format, index, extra)  # while the temp file is still locked
            saved.bytes, saved.sha256 = streamed.size, streamed.sha256
            saved.content_credentials = streamed.content_credentials
        except OSError as error:
            raise self._disk_error(directory, error) from None
        finally:
            unlink_quietly(temp)
        return self._describe(saved, metadata)

    def adopt(self, path: Path, metadata: dict[str, Any]) -> SavedImage:
        """An image an interrupted run already saved under its final name: describe it and write the
        sidecar it may be missing (the run was killed between the two)."""
        import hashlib

        from ..localjson import open_regular

        with open_regular(path) as handle:
            data = handle.read()
        fmt = files.sniff_format(data[:16]) or ("svg" if path.suffix.lower() == ".svg" else "png")
        return self._describe(SavedImage(path, fmt, None, None, len(data), hashlib.sha256(data).hexdigest()),
                              metadata)

    def _describe(self, saved: SavedImage, metadata: dict[str, Any]) -> SavedImage:
        """Read the saved image's size and write its sidecar (a warning, not a failure, if that fails)."""
        fmt = saved.format
        head = files.file_header(saved.path) if fmt != "jpeg" else _jpeg_head(saved.path)
        saved.width, saved.height = files.dimensions(head, fmt) or (None, None)
        saved.blank = _blank_colour(saved.path, fmt)
        if saved.blank:
            saved.warnings.append(blank.warning(saved.path.name, saved.blank))
        if self.sidecars:
            sidecar = saved.path.with_name(saved.path.name + ".json")
            image = {"file": saved.path.name, "format": fmt, "width": saved.width, "height": saved.height,
                     "bytes": saved.bytes, "sha256": saved.sha256, "content_credentials": saved.content_credentials}
            if saved.blank:
                image["looks_blank"] = saved.blank
            record = {**metadata, "image": image}
            if saved.warnings:
                record["warnings"] = list(saved.warnings)
            try:
                write_json_atomic(sidecar, record)
                saved.sidecar = sidecar
            except OSError as error:
                saved.warnings.append(f"the image is saved but its sidecar could not be written: {error.strerror}")
        return saved

    def _claim(self, temp: Path, fmt: str, index: int, extra: bool = False) -> SavedImage:
        ext = files.EXTENSIONS[fmt]
        warnings: list[str] = []
        if self.output_file and extra:
            target = self._link_first_free(temp, (self._explicit(n) for n in range(index, index + MAX_SUFFIX)))
            if target is None:
                raise OutputError(f"no free file name beside {self.output_file}")
            return SavedImage(target, fmt, None, None, 0, "", warnings=warnings)
        if self.output_file:
            target = self._explicit(index)
            if fmt == "svg" and target.suffix.lower() != ".svg":
                return self._claim_vector(temp, target)
            if target.suffix.lower() not in _extensions_for(fmt):
                named = target.suffix or "nothing"
                warnings.append(f"{target.name} holds {fmt.upper()} data although its name says {named}")
            if self.overwrite:
                os.replace(temp, target)
                return SavedImage(target, fmt, None, None, 0, "", warnings=warnings)
            try:
                os.link(temp, target)
            except FileExistsError:
                raise OutputExistsError(f"output exists: {target} (pass --overwrite to replace it)") from None
            return SavedImage(target, fmt, None, None, 0, "", warnings=warnings)
        base = f"{self.stamp}-{self.slug}"
        names = (self.output_dir / (f"{base}{ext}" if n == 1 else f"{base}-{n}{ext}") for n in range(1, MAX_SUFFIX))
        target = self._link_first_free(temp, names)
        if target is None:
            raise OutputError(f"no free file name for {base}{ext} in {self.output_dir}")
        return SavedImage(target, fmt, None, None, 0, "", warnings=warnings)

    def _claim_vector(self, temp: Path, asked: Path) -> SavedImage:
        """An SVG answer to an --output-file named for a raster: no viewer would open SVG text under that
        name, so it takes the name with ``.svg`` (``-2``, ``-3`` ... when that is taken), with a warning."""
        stem = asked.with_suffix("")
        names = (stem.with_name(f"{stem.name}.svg" if n == 1 else f"{stem.name}-{n}.svg") for n in range(1, MAX_SUFFIX))
        target = self._link_first_free(temp, names)
        if target is None:
            raise OutputError(f"no free file name for {stem.name}.svg in {asked.parent}")
        note = f"the provider sent a vector image (SVG), so it was saved as {target.name} instead of {asked.name}"
        return SavedImage(target, "svg", None, None, 0, "", warnings=[note])

    def _link_first_free(self, temp: Path, names: Iterable[Path]) -> Path | None:
        """Link ``temp`` under the first of ``names`` that is free (never replacing a file), or None.
        A name whose sidecar exists without its image is not free: someone's run owns it."""
        for target in names:
            if self.sidecars and os.path.lexists(target.with_name(target.name + ".json")):
                continue
            try:
                os.link(temp, target)
            except FileExistsError:
                continue
            return target
        return None

    @staticmethod
    def _disk_error(directory: Path, error: OSError) -> OutputError:
        return OutputError(
            f"could not write the image in {directory}: {error.strerror or error}",
            details="free some space or fix permissions, then run again; nothing was left behind",
        )


def _extensions_for(fmt: str) -> tuple[str, ...]:
    return (".jpg", ".jpeg") if fmt == "jpeg" else (files.EXTENSIONS[fmt],)


def _blank_colour(path: Path, fmt: str) -> str | None:
    """The colour of a saved PNG that looks blank (rows read until one varies); None for any other
    image, and for JPEG, WebP and GIF, whose pixels the standard library cannot read."""
    if fmt != "png":
        return None
    from ..localjson import open_regular

    try:
        with open_regular(path) as handle:
            return blank.flat_colour(handle)
    except (OSError, ValueError):  # ValueError: not a regular file (LocalFileError)
        return None


def _jpeg_head(path: Path) -> bytes:
    from ..localjson import open_regular

    with open_regular(path) as handle:
        return handle.read(1024 * 1024)


IEND_CHUNK = b"\x00\x00\x00\x00IEND\xaeB`\x82"


class StreamedImage:
    """What :func:`_stream_image` wrote: the format, size and sha256 of the file, and whether it carries
    Content Credentials (then it holds the provider's bytes exactly)."""

    __slots__ = ("format", "size", "sha256", "content_credentials")

    def __init__(self, fmt: str, size: int, sha256: str, content_credentials: bool) -> None:
        self.format, self.size, self.sha256, self.content_credentials = fmt, size, sha256, content_credentials


def _refuse_svg(reason: str) -> None:
    from ..errors import provider_error

    raise provider_error("provider_error", f"the provider sent an SVG that was not saved: {reason}", retryable=False,
                         details="vector output is saved only as well-formed SVG without scripts; choose a raster "
                                 "model or output format (retrying brings the same answer)")


def _stream_image(handle: Any, chunks: Iterable[bytes], metadata: dict[str, Any]) -> StreamedImage:
    """Write the decoded chunks, checking the format, and return what was written.

    The provider's bytes are written as they come. A PNG gets our metadata as an ``iTXt`` chunk just
    before ``IEND`` (the last 12 bytes are held back until the stream ends), unless the file carries
    C2PA credentials: then nothing is added, since any added chunk would break their binding.
    """
    import hashlib

    from .credentials import CredentialScanner

    digest = hashlib.sha256()
    head = b""
    fmt: str | None = None
    scanner: CredentialScanner | None = None
    held = b""  # a PNG's last bytes, written once the stream has ended
    size = 0

    def write(data: bytes) -> None:
        nonlocal size
        handle.write(data)
        digest.update(data)
        size += len(data)

    text = bytearray()  # an SVG is checked whole before a byte of it is written
    # The empty chunk at the end judges a reply shorter than a header: bytes that are no image are not one.
    for chunk in itertools.chain(chunks, (b"",)):
        if fmt is None:
            head += chunk
            if len(head) < PNG_HEADER_LEN and chunk:
                continue
            if not head or (len(head) < PNG_HEADER_LEN and files.sniff_format(head[:16])):
                break  # nothing arrived, or an image cut off in its header: asking again may mend it
            fmt = files.sniff_format(head[:16])
            if fmt is None and head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<"):
                from . import svg  # only for the rare SVG reply

                fmt = "svg"
            if fmt is None:
                from ..errors import provider_error

                # A well-formed reply in a format we cannot save: the same request would bring it again.
                raise provider_error("provider_error", "the provider sent data that is not an image "
                                                       "(no PNG, JPEG, WebP, GIF or SVG signature)", retryable=False)
            scanner = CredentialScanner(fmt)
            chunk, head = head, b""
        if fmt == "svg":
            text += chunk
            if len(text) > svg.MAX_BYTES:
                _refuse_svg(f"it is larger than {svg.MAX_BYTES // (1024 * 1024)} MB")
            continue
        assert scanner is not None
        scanner.feed(chunk)
        if fmt == "png":
            chunk, held = (held + chunk)[:-len(IEND_CHUNK)], (held + chunk)[-len(IEND_CHUNK):]
        write(chunk)
    if fmt is None or scanner is None:
        from ..errors import provider_error

        raise provider_error("provider_error", "the provider sent an empty or truncated image")
    if fmt == "svg":
        try:
            svg.check(bytes(text))
        except ValueError as reason:
            _refuse_svg(str(reason))
        write(bytes(text))  # the provider's bytes as they are; the record lives in the sidecar
        return StreamedImage(fmt, size, digest.hexdigest(), False)
    if held == IEND_CHUNK and metadata and not scanner.found:
        write(png_text_chunk("image-gen", redact(json.dumps(metadata))))
    write(held)
    return StreamedImage(fmt, size, digest.hexdigest(), scanner.found)
