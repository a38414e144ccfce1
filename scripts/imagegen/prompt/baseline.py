"""Baseline images: the image an edit or variation starts from, and the rules for sending it.

A local baseline leaves the machine only with explicit consent (``--confirm-external-upload``),
and only if it is a regular file -- not a symlink, not reached through a symlinked directory
that leads out of the workspace root -- holding PNG, JPEG or WebP bytes under a size limit. The
file is opened once, without following links, and the bytes checked are the bytes sent.

A URL baseline is passed to the provider as a link (the provider fetches it), so it needs no
upload consent, but it must be https and its host must not be loopback, private, link-local or
otherwise internal: every address the name resolves to is checked.
"""

from __future__ import annotations

import math
import os
import re
import stat
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import UsageError
from ..images import files
from . import choices

DEFAULT_SOURCE_KIND = choices.DEFAULT_BASELINE_SOURCE_KIND
ALLOWED_FORMATS = ("png", "jpeg", "webp")
DEFAULT_MAX_MB = choices.DEFAULT_MAX_BASELINE_MB
ROLE = "baseline image"
_SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")
_WINDOWS_DRIVE = re.compile(r"^[a-zA-Z]:[\\/]")

Resolver = Callable[..., list]


@dataclass
class Baseline:
    """A checked baseline: local bytes (``image``) or a public https ``url``."""

    given: str
    source_kind: str
    image: files.InputImage | None = None
    url: str | None = None

    @property
    def source(self) -> str:
        return self.url if self.url is not None else str(self.image.path)  # type: ignore[union-attr]

    def request_url(self) -> str:
        """What goes into the request's image_url: a data URL for a file, the link for a URL."""
        return self.url if self.url is not None else self.image.data_url()  # type: ignore[union-attr]

    def frame(self) -> tuple[int, int] | None:
        """The baseline's width and height, when known (a link's are not)."""
        if self.image is None or not self.image.width or not self.image.height:
            return None
        return self.image.width, self.image.height

    def record(self) -> dict[str, Any]:
        if self.image is None:
            return {"url": self.url, "source_kind": self.source_kind}
        image = self.image
        return {"path": str(image.path), "sha256": image.sha256, "format": image.format,
                "width": image.width, "height": image.height, "bytes": len(image.data),
                "source_kind": self.source_kind}


def nearest_ratio(width: float, height: float, ratios: tuple[str, ...]) -> str:
    """The aspect ratio in ``ratios`` nearest to width:height (compared on a log scale, so 2:1 and 1:2
    are as far from 1:1)."""
    def distance(ratio: str) -> float:
        across, down = (float(part) for part in ratio.split(":"))
        return abs(math.log((width / height) / (across / down)))

    return min(ratios, key=distance)


def is_url(text: str) -> bool:
    return bool(_SCHEME.match(text)) and not _WINDOWS_DRIVE.match(text)


def load(given: str, *, source_kind: str = DEFAULT_SOURCE_KIND, workspace_root: Path | None = None,
         max_mb: float = DEFAULT_MAX_MB, consent: bool = False, upload_host: str = "the provider",
         resolver: Resolver | None = None) -> Baseline:
    """Check and load ``given`` (a path or URL); raises UsageError naming the rule it broke."""
    given = given.strip()
    if not given:
        raise UsageError("--baseline-image is empty", details="give a path to a PNG/JPEG/WebP file or an https URL")
    if is_url(given):
        return Baseline(given, source_kind, url=check_url(given, resolver=resolver))
    if not os.path.lexists(os.path.expanduser(given)):
        raise _file_error(f"baseline image not found: {given}", "check the path given to --baseline-image")
    if not consent:
        raise UsageError(
            f"baseline image {given} would be uploaded to {upload_host}; local files are only sent with "
            "--confirm-external-upload",
            details="ask the user whether this file may be sent to the provider, then add --confirm-external-upload",
            kind="upload_consent_required", extra={"upload_host": upload_host, "baseline_source": given},
        )
    root = Path.cwd() if workspace_root is None else workspace_root
    return Baseline(given, source_kind, image=load_local(given, root=root, max_mb=max_mb))


# -- URLs ------------------------------------------------------------------------------------

def check_url(url: str, *, resolver: Resolver | None = None) -> str:
    """Return ``url`` if it is https to a public host; raise UsageError otherwise."""
    from ..http.addresses import refusal, without_credentials  # the rule image URLs in replies meet too

    refused = refusal(url, resolver)
    if refused is not None:
        raise UsageError(f"baseline URL {without_credentials(url)} {refused.reason}",
                         details=_URL_FIXES.get(refused.kind, "check the URL"), kind="baseline_url")
    return url


_URL_FIXES = {
    "scheme": "upload the image somewhere served over https, or pass a local file",
    "credentials": "use a URL without credentials",
    "this_machine": "use a public https URL or a local file",
    "non_public": "use a public https URL, or pass the file itself with --confirm-external-upload",
}


# -- local files -----------------------------------------------------------------------------

def load_local(given: str, *, root: Path, max_mb: float = DEFAULT_MAX_MB) -> files.InputImage:
    """Load a workspace-local image file under the rules in the module docstring."""
    root_real = os.path.realpath(root)
    if not os.path.isdir(root_real):
        raise UsageError(f"workspace root is not a directory: {root}", details="fix --workspace-root")
    location = os.path.normpath(os.path.abspath(os.path.expanduser(given)))
    if not (_inside(location, os.path.normpath(os.path.abspath(root))) or _inside(location, root_real)):
        raise _file_error(f"baseline image {given} is outside the workspace root {root_real}",
                          "copy the file into the workspace, or set --workspace-root to a folder that holds it")
    try:
        before = os.lstat(location)
    except FileNotFoundError:
        raise _file_error(f"baseline image not found: {given}", "check the path given to --baseline-image") from None
    except OSError as error:
        raise _file_error(f"baseline image cannot be read: {given} ({error.strerror})", "check the path") from None
    if stat.S_ISLNK(before.st_mode):
        raise _file_error(f"baseline image {given} is a symbolic link; links are not followed",
                          "pass the path of the real file")
    if not stat.S_ISREG(before.st_mode):
        what = "a directory" if stat.S_ISDIR(before.st_mode) else "not a regular file"
        raise _file_error(f"baseline image {given} is {what}", "pass an image file")
    parent_real = os.path.realpath(os.path.dirname(location))
    if not _inside(parent_real, root_real):
        raise _file_error(f"baseline image {given} is reached through a symlinked folder that leads outside "
                          f"the workspace root ({parent_real})", "pass a path inside the workspace")
    fd = _open_beneath(root_real, os.path.relpath(parent_real, root_real), os.path.basename(location), given)
    after = os.fstat(fd)
    if (after.st_dev, after.st_ino) != (before.st_dev, before.st_ino):
        os.close(fd)
        raise _file_error(f"baseline image {given} changed while it was being opened", "run again")
    return files.read_image_fd(fd, Path(location), role=ROLE, allowed=ALLOWED_FORMATS, max_mb=max_mb)


def _inside(path: str, root: str) -> bool:
    try:
        return os.path.commonpath([path, root]) == root
    except ValueError:  # different drives
        return False


def _open_beneath(root: str, relative_dir: str, name: str, given: str) -> int:
    """Open ``root/relative_dir/name`` one component at a time, never following a link."""
    nofollow = getattr(os, "O_NOFOLLOW", 0)
    flags = os.O_RDONLY | nofollow | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    if not nofollow or os.open not in os.supports_dir_fd:
        return _open_error_wrapped(os.path.join(root, relative_dir, name), flags, given)
    dir_flags = os.O_RDONLY | nofollow | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_CLOEXEC", 0)
    directory = _open_error_wrapped(root, dir_flags, given)
    try:
        for part in [p for p in relative_dir.split(os.sep) if p not in ("", ".")]:
            inner = _open_error_wrapped(part, dir_flags, given, dir_fd=directory)
            os.close(directory)
            directory = inner
        return _open_error_wrapped(name, flags, given, dir_fd=directory)
    finally:
        os.close(directory)


def _open_error_wrapped(path: str, flags: int, given: str, dir_fd: int | None = None) -> int:
    try:
        return os.open(path, flags, dir_fd=dir_fd)
    except PermissionError:
        raise _file_error(f"baseline image is not readable: {given}", "check its permissions") from None
    except OSError as error:  # ELOOP/ENOTDIR: a link appeared after the checks
        raise _file_error(f"baseline image {given} cannot be opened safely ({error.strerror})",
                          "pass the path of a regular file inside the workspace") from None


def _file_error(message: str, fix: str) -> UsageError:
    return UsageError(message, details=fix, kind="baseline_file")
