"""Gallery contents: which images belong on a contact sheet, and what their sidecars say about them.

Three sources: an output directory, one request in the job queue, or a manifest listing outputs
(``{"variants": [{"path": ...}]}`` or ``{"outputs": [...]}``). Each image's ``<image>.json``
sidecar gives prompt, model, size, cost and time; ``<image>.review.json`` gives score and verdict;
the sidecar's ``request.parent`` gives the image an edit was made from.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import UsageError
from ..fsutil import TEMP_PREFIX
from ..images import files
from ..jsonshape import dict_at
from ..localjson import read_json_or_skip
from ..progress import note
from ..queue.status import job_states, request_jobs, require_request

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".webp", ".gif"}
MASK_SUFFIX = ".mask.png"  # edit.py --mask-rect draws these beside its outputs: inputs, not pictures


def is_card_image(path: Path) -> bool:
    """Whether a file found in a folder belongs on the sheet: an image, not a hidden, temp or mask file."""
    name = path.name
    return (path.suffix.lower() in IMAGE_SUFFIXES and not name.startswith((TEMP_PREFIX, "."))
            and not name.lower().endswith(MASK_SUFFIX) and path.is_file())


@dataclass
class Item:
    """One card: an image (or a job that produced none) and what is known about it."""

    path: Path | None
    title: str
    status: str = "ok"  # "ok" | "missing" | "failed"
    prompt: str | None = None
    model: str | None = None
    preset: str | None = None
    size: str | None = None
    aspect_ratio: str | None = None
    dimensions: str | None = None
    cost_usd: float | None = None
    created: str | None = None
    generation_time_ms: int | None = None
    request_id: str | None = None
    score: float | None = None
    verdict: str | None = None
    critique: str | None = None
    parent: Path | None = None
    error: str | None = None
    sort_key: float = 0.0
    children: list[Path] = field(default_factory=list)
    review_round: int | None = None  # a generate --review round (its sidecar says which)
    rounds: list[Item] = field(default_factory=list)  # on a loop's chosen image: every round, in order
    chosen: bool = False
    review_cost_usd: float = 0.0  # on a loop's chosen image: what the loop's reviews cost (its record says)


def _json(path: Path, what: str = "sidecar") -> dict[str, Any] | None:
    """A sidecar, review or manifest: None (with a note on stderr when the file is there but unusable)."""
    data = read_json_or_skip(path, what)
    return data if isinstance(data, dict) else None


def _number(value: Any) -> float | None:
    """A finite number from a sidecar, else None: 1e400 reads as infinity, and NaN is no time or cost."""
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return None
    try:
        number = float(value)
    except OverflowError:  # an integer too large for a float
        return None
    return number if math.isfinite(number) and abs(number) < 1e15 else None


def _parent_path(value: Any, base: Path) -> Path | None:
    if isinstance(value, dict):
        value = value.get("path")
    if not isinstance(value, str) or not value.strip():
        return None
    candidate = Path(value).expanduser()
    return (candidate if candidate.is_absolute() else base / candidate).resolve()


def describe(path: Path) -> Item:
    """An item for ``path`` from its sidecar and review, whichever exist."""
    path = path.resolve()
    item = Item(path=path, title=path.name)
    try:
        item.sort_key = path.stat().st_mtime
    except OSError:
        item.status = "missing"
    sidecar = _json(path.with_name(path.name + ".json")) or {}
    request = dict_at(sidecar, "request")
    result = dict_at(sidecar, "result")
    image = dict_at(sidecar, "image")
    item.prompt = request.get("prompt") if isinstance(request.get("prompt"), str) else None
    item.model = next((v for v in (request.get("model"), result.get("model")) if isinstance(v, str) and v), None)
    item.preset = request.get("preset") if isinstance(request.get("preset"), str) else None
    item.size = request.get("size") if isinstance(request.get("size"), str) else None
    item.aspect_ratio = request.get("aspect_ratio") if isinstance(request.get("aspect_ratio"), str) else None
    item.request_id = request.get("request_id") if isinstance(request.get("request_id"), str) else None
    item.cost_usd = _number(result.get("cost_usd"))
    time_ms = _number(result.get("generation_time_ms"))
    item.generation_time_ms = int(time_ms) if time_ms is not None else None
    item.created = sidecar.get("created") if isinstance(sidecar.get("created"), str) else None
    item.parent = _parent_path(request.get("parent"), path.parent)
    number = request.get("review_round")
    item.review_round = number if isinstance(number, int) and not isinstance(number, bool) else None
    width, height = image.get("width"), image.get("height")
    if not (isinstance(width, int) and isinstance(height, int)) and item.status == "ok":
        try:
            width, height = files.dimensions(files.file_header(path)) or (None, None)
        except OSError:
            width = height = None
    if isinstance(width, int) and isinstance(height, int):
        item.dimensions = f"{width}x{height}"
    _add_review(item, _json(path.with_name(path.name + ".review.json"), "review file"))
    return item


def _add_review(item: Item, review: dict[str, Any] | None) -> None:
    if not review:
        return
    nested = dict_at(review, "review")
    source = {**nested, **{k: v for k, v in review.items() if k != "review"}}
    item.score = _number(source.get("score"))
    item.verdict = source.get("verdict") if isinstance(source.get("verdict"), str) else None
    item.critique = source.get("critique") if isinstance(source.get("critique"), str) else None


def from_directory(directory: Path, recursive: bool = False) -> list[Item]:
    if not directory.is_dir():
        raise UsageError(f"--dir {directory} is not a directory", details="give the folder that holds the images")
    pattern = "**/*" if recursive else "*"
    found = [p for p in directory.glob(pattern) if is_card_image(p)]
    return link_lineage(fold(sorted((describe(p) for p in found), key=lambda i: (-i.sort_key, i.title))))


def from_manifest(manifest: Path) -> list[Item]:
    doc = _json(manifest, "manifest")
    if doc is None:
        raise UsageError(f"--manifest {manifest} is not a readable JSON object",
                         details='expected {"variants": [{"path": ...}]} or {"outputs": [...]}')
    entries = doc.get("variants") if isinstance(doc.get("variants"), list) else doc.get("outputs")
    if not isinstance(entries, list):
        raise UsageError(f"--manifest {manifest} has no 'variants' or 'outputs' list",
                         details='expected {"variants": [{"path": ...}]} or {"outputs": [...]}')
    items = []
    for entry in entries:
        value = entry if isinstance(entry, str) else entry.get("path") if isinstance(entry, dict) else None
        if not isinstance(value, str) or not value.strip():
            continue
        items.append(describe(_locate(Path(value).expanduser(), manifest.parent)))
    return link_lineage(fold(items))


def _locate(path: Path, base: Path) -> Path:
    """A manifest path: absolute as given, else next to the manifest, else from the working directory."""
    if path.is_absolute():
        return path
    beside = base / path
    return beside if beside.exists() or not path.exists() else path


def from_queue(queue_dir: Path, request_id: str) -> tuple[list[Item], dict[str, int]]:
    """One request's images (from its results records) and failures, in variant order."""
    from ..queue.layout import DEFAULT_QUEUE_DIR, QueueDirs

    if not queue_dir.is_dir():
        raise UsageError(f"--queue-dir {queue_dir} is not a directory",
                         details=f"give the queue folder, e.g. ./{DEFAULT_QUEUE_DIR}")
    dirs = QueueDirs.at(queue_dir)
    require_request(dirs, request_id)
    jobs = request_jobs(dirs, request_id)
    folders = _record_roots(dirs.root)
    items: list[Item] = []
    for job in jobs:
        if job.state == "results":
            for path in job.image_paths() + _round_paths(job.result, job.image_paths()):
                if not _inside_any(path, folders):  # a record is a file anyone may plant: read no path it names
                    note(f"gallery: job {job.job_id} names {path}, outside the queue's folders; not read")
                    items.append(Item(path=None, title=job.job_id, status="failed", request_id=request_id,
                                      error=f"its record names {path.name}, outside the folders the queue may use"))
                    continue
                item = describe(path)
                item.request_id = item.request_id or request_id
                items.append(item)
        elif job.state == "failed":
            items.append(Item(path=None, title=job.job_id, status="failed", request_id=request_id,
                              prompt=job.prompt, error=job.error or "failed"))
    return link_lineage(fold(items)), job_states(jobs)


def _round_paths(result: dict[str, Any], shown: list[Path]) -> list[Path]:
    """The other images of a --review job's rounds (and their candidates), which its result lists."""
    found: list[Path] = []
    for entry in result.get("rounds") or []:
        if not isinstance(entry, dict):
            continue
        listed = entry.get("candidates")
        candidates: list[Any] = listed if isinstance(listed, list) else [entry]
        for candidate in candidates:
            value = candidate.get("path") if isinstance(candidate, dict) else None
            if isinstance(value, str) and Path(value).is_absolute():
                path = Path(value)
                if path not in shown and path not in found:
                    found.append(path)
    return found


def fold(items: list[Item]) -> list[Item]:
    from .loops import fold as fold_rounds  # only reads loop records

    return fold_rounds(items)


def every_item(items: list[Item]) -> list[Item]:
    """Every image on the sheet: the cards, and the rounds folded into a loop's card."""
    return [member for item in items for member in (item.rounds or [item])]


def _record_roots(queue_root: Path) -> tuple[str, ...]:
    """Where a queue record's images may be: the folders a worker of this queue writes to (the queue's
    parent, the working directory, the config file's allow_roots), never the queue itself."""
    from ..errors import ImageGenError
    from ..queue.roots import configured_roots

    try:
        extra = configured_roots()
    except ImageGenError:
        extra = []
    folders = [os.path.dirname(os.path.realpath(queue_root)), os.getcwd(), *extra]
    return tuple(os.path.realpath(os.path.expanduser(folder)) for folder in folders)


def _inside_any(path: Path, folders: tuple[str, ...]) -> bool:
    resolved = os.path.realpath(path)
    return any(resolved == folder or resolved.startswith(folder.rstrip(os.sep) + os.sep) for folder in folders)


def link_lineage(items: list[Item]) -> list[Item]:
    """Fill each item's ``children`` with the items edited from it."""
    by_path = {item.path: item for item in items if item.path is not None}
    for item in items:
        if item.parent is not None and item.parent in by_path:
            by_path[item.parent].children.append(item.path)  # type: ignore[arg-type]
    return items
