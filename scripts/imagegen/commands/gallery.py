"""gallery.py: a self-contained HTML contact sheet for a folder, a queue request or a manifest."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from ..cli import command_options, runner
from ..errors import OutputError, OutputExistsError, UsageError
from ..gallery import collect
from ..gallery.page import NOT_REVIEWED, render
from ..queue.layout import DEFAULT_QUEUE_DIR

DESCRIPTION = """Build an index.html contact sheet and print JSON with its path.

Thumbnails link the images by relative path (nothing is copied or uploaded); each card shows the
prompt, model, size, cost and time from the <image>.json sidecar, the score and verdict from
<image>.review.json, and the image an edit came from. Filter by model and verdict; click to view.

examples:
  gallery.py --dir ./data                       # writes ./data/index.html
  gallery.py --queue-dir ./generated/imagegen-queue --request-id discord-1234
  gallery.py --manifest ./generated/crab-logo-manifest.json --out ./crab.html
"""

GENERATOR_MARK = b'<meta name="generator" content="image-gen gallery">'


def build_parser() -> argparse.ArgumentParser:
    return runner.new_parser("gallery.py", DESCRIPTION, command_options.gallery())


def _collect(args: argparse.Namespace) -> tuple[list[collect.Item], Path, str, dict[str, Any]]:
    if args.queue_dir is not None and args.request_id is None:
        raise UsageError("--queue-dir needs --request-id", details="name the request whose images to show")
    if args.recursive and args.dir is None:
        raise UsageError("--recursive works only with --dir")
    if args.dir is not None:
        directory = args.dir.expanduser()
        items = collect.from_directory(directory, args.recursive)
        return items, directory / "index.html", f"Images in {directory.resolve().name}", \
            {"kind": "dir", "dir": str(directory.resolve())}
    if args.manifest is not None:
        manifest = args.manifest.expanduser()
        items = collect.from_manifest(manifest)
        return items, manifest.with_suffix(".html"), f"Outputs of {manifest.name}", \
            {"kind": "manifest", "manifest": str(manifest.resolve())}
    queue_dir = (args.queue_dir or DEFAULT_QUEUE_DIR).expanduser()
    items, states = collect.from_queue(queue_dir, args.request_id)
    return items, queue_dir / f"gallery-{args.request_id}.html", f"Request {args.request_id}", \
        {"kind": "queue", "queue_dir": str(queue_dir.resolve()), "request_id": args.request_id, "jobs": states}


def _summary(items: list[collect.Item], source: dict[str, Any]) -> str:
    shown = sum(1 for i in items if i.status == "ok")
    parts = [f"{shown} image{'s' if shown != 1 else ''}"]
    costs = [i.cost_usd for i in items if i.cost_usd is not None] + [i.review_cost_usd for i in items
                                                                      if i.review_cost_usd]
    if costs:
        parts.append(f"${sum(costs):.4f} reported cost")
    jobs = source.get("jobs")
    if jobs:
        parts.append(f"{jobs['failed']} failed, {jobs['pending'] + jobs['running']} still queued or running")
    return " · ".join(parts)


def _check_target(page: Path, overwrite: bool) -> None:
    if not page.exists() or overwrite:
        return
    try:
        from ..localjson import open_regular

        with open_regular(page) as handle:
            ours = GENERATOR_MARK in handle.read(4096)
    except (OSError, ValueError):
        ours = False
    if not ours:
        raise OutputExistsError(f"output exists: {page} and was not made by gallery.py "
                                "(pass --overwrite to replace it)",
                                details="or choose another --out")


def handle(args: argparse.Namespace, context: runner.RunContext) -> dict[str, Any]:
    from ..config import redact
    from ..fsutil import write_atomic
    from ..images.writer import ensure_writable_dir

    items, default_page, default_title, source = _collect(args)
    page = (args.out.expanduser() if args.out else default_page).absolute()
    if page.is_dir():
        page = page / "index.html"
    _check_target(page, args.overwrite)
    # Files written by older versions, or by hand, may quote a key: the page never does.
    summary = _summary(collect.every_item(items), source)
    text = redact(render(items, page, args.title or default_title, summary))
    ensure_writable_dir(page.parent)  # a bad --out is the caller's to fix (exit 2), like generate's
    try:
        write_atomic(page, text.encode("utf-8", "replace"))  # e() already made every text valid
    except OSError as error:
        raise OutputError(f"could not write {page}: {error.strerror or error}",
                          details="choose another --out or fix the folder's permissions") from None
    cards = len(items)
    items = collect.every_item(items)  # a review loop's rounds count as the images they are
    verdicts: dict[str, int] = {}
    for item in items:
        key = (item.verdict or NOT_REVIEWED).lower()
        verdicts[key] = verdicts.get(key, 0) + 1
    costs = [i.cost_usd for i in items if i.cost_usd is not None]
    return {
        "path": str(page),
        "source": source,
        "images": sum(1 for i in items if i.status == "ok"),
        "cards": cards,
        "failed": sum(1 for i in items if i.status == "failed"),
        "missing": [str(i.path) for i in items if i.status == "missing"],
        "models": sorted({i.model for i in items if i.model}),
        "verdicts": dict(sorted(verdicts.items())),
        "total_cost_usd": round(sum(costs), 6) if costs else None,
    }


def main(argv: list[str] | None = None) -> int:
    return runner.run_cli(build_parser(), handle, argv)
