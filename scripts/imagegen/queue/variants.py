"""A batch of variants of one prompt: names <prefix>-NN.<ext>, explicit recorded deltas, a manifest."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from .. import localjson
from ..errors import OutputExistsError
from ..fsutil import now_iso, write_json_atomic
from ..record import Record
from ..requests import GenerateRequest
from . import submit
from .layout import QueueDirs


class VariantBatch(Record):
    """Where a batch of variants goes and how many: <out_dir>/<prefix>-NN.png from start_index."""

    queue_dir: Path
    out_dir: Path
    prefix: str | None = None  # None: one made from the request (default_prefix)
    count: int = 4  # a field named as the flag
    start_index: int = 1
    max_jobs: int | None = None

    def targets(self) -> list[tuple[int, Path]]:
        out_dir = self.out_dir.expanduser().resolve()
        count = self.count if self.max_jobs is None else min(self.count, self.max_jobs)
        return [(n, out_dir / f"{self.prefix}-{n:02d}.png") for n in range(self.start_index, self.start_index + count)]


GENERATED_ID = re.compile(r"^req-\d{8}-\d{6}-([0-9a-f]+)$")  # an id made for a request that gave none
SKIPPED_WORDS = frozenset({"a", "an", "the", "of", "with", "and", "in", "on", "for", "to", "at", "by", "some"})
PREFIX_WORDS = 4
PREFIX_CHARS = 40


def default_prefix(prompt: str, request_id: str) -> str:
    """The names of a batch given no --prefix, never the same for two requests: the caller's own
    request id (re-running it names the same files), else the prompt's first words and the tail of
    the id made for this request (``snow-crab-logo-5d00e5``)."""
    generated = GENERATED_ID.match(request_id)
    if not generated:
        return _slug(request_id) or "request"
    words = [w for w in re.findall(r"[a-z0-9]+", prompt.lower(), re.ASCII) if w not in SKIPPED_WORDS]
    head = _slug("-".join(words[:PREFIX_WORDS])) or "image"
    return f"{head}-{generated[1]}"


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text)[:PREFIX_CHARS].strip("-.")


def _check_prefix(prefix: str) -> None:
    from ..errors import UsageError

    if not prefix or "/" in prefix or prefix in (".", "..") or prefix.startswith("."):
        raise UsageError(f"invalid --prefix {prefix!r}", details="use a plain file-name prefix such as crab-logo")


def _manifest(path: Path, request_id: str, overwrite: bool) -> dict[str, Any]:
    if not path.exists():
        return {}
    try:
        manifest = localjson.read_json(path, follow_links=True)
    except (OSError, ValueError):
        manifest = {}
    if manifest.get("request_id") not in (None, request_id) and not overwrite:
        raise OutputExistsError(f"manifest exists: {path} (request {manifest.get('request_id')}; pass --overwrite "
                                "to replace it)", details="or choose another --prefix")
    return manifest if manifest.get("request_id") == request_id else {}


def enqueue_batch(request: GenerateRequest, batch: VariantBatch, *, request_id: str, base: Path,
                  show_hints: bool = False, settings: dict[str, Any] | None = None, dry_run: bool = False,
                  quiet: bool = True) -> dict[str, Any]:
    """Validate once, then queue one job per variant and write the manifest (with ``dry_run``, only
    say what would be queued and written)."""
    prefix = batch.prefix or default_prefix(request.prompt, request_id)
    _check_prefix(prefix)
    batch = batch._replace(prefix=prefix)
    plan = submit.validate(request, show_hints=show_hints, via=(settings or {}).get("via"))
    dirs = QueueDirs.at(batch.queue_dir)
    targets = batch.targets()
    manifest_path = batch.out_dir.expanduser().resolve() / f"{prefix}-manifest.json"
    for _, target in targets:  # an earlier batch's images are not ours to overwrite unless asked
        submit.refuse_taken_output(target, request_id, request.overwrite,
                                    fix="or choose another --prefix or --start-index")
    manifest = _manifest(manifest_path, request_id, request.overwrite)
    stored = submit.stored_request(request, base)
    jobs = [submit.make_job(stored.replace(output_file=str(target)), request_id=request_id, plan=plan,
                             variation=_variation(batch, number, request), settings=settings)
            for number, target in targets]
    submit.check_request_cap(jobs)
    submit.notify_warnings([plan], quiet)
    if dry_run:
        return {**submit.dry_run_document(dirs, request_id, jobs, [plan]), "manifest": str(manifest_path)}
    batch.out_dir.expanduser().mkdir(parents=True, exist_ok=True)
    queued = submit.enqueue_all(dirs, jobs, [number for number, _ in targets])
    variants = [{"index": number, "job_id": result["job_id"], "target": str(target),
                 "delta": job["variation_delta"], "state": result["state"]}
                for (number, target), job, result in zip(targets, jobs, queued, strict=True)]
    write_json_atomic(manifest_path, _manifest_document(manifest, batch, plan, stored, request_id, dirs, variants))
    return {"request_id": request_id, "queue_dir": str(dirs.root), "job_ids": [q["job_id"] for q in queued],
            "targets": [str(t) for _, t in targets], "jobs": queued, "manifest": str(manifest_path),
            "cost_estimate_usd": submit.total_estimate(queued),
            "cost_estimate_basis": submit.total_basis(queued),
            "status_command": submit.status_command(dirs, request_id)}


def _variation(batch: VariantBatch, number: int, request: GenerateRequest) -> dict[str, Any] | None:
    """Variant ``number``'s recorded difference (none for a batch of one)."""
    if batch.count <= 1 and batch.start_index <= 1:
        return None
    locks = {"palette": bool(request.lock_palette), "composition": bool(request.lock_composition)}
    aspect, delta = submit.variation_delta(number - 1, locks)
    total = batch.start_index + batch.count - 1
    return {"aspect": aspect, "delta": delta, "instruction": submit.variation_instruction(number, total, delta)}


def _manifest_document(manifest: dict[str, Any], batch: VariantBatch, plan: Any, stored: GenerateRequest,
                       request_id: str, dirs: QueueDirs, variants: list[dict[str, Any]]) -> dict[str, Any]:
    record = plan.request_record()
    batches = [b for b in manifest.get("batches", []) if b.get("start_index") != batch.start_index]
    batches.append({"created_at": now_iso(), "start_index": batch.start_index, "count": len(variants),
                    "variants": variants})
    return {
        "request_id": request_id,
        "prompt": plan.prompt,
        "model": plan.spec.id,
        "parameters": {k: v for k, v in stored.to_json().items() if k not in ("output_file", "prompt")},
        "request": record,
        "constraints": {k: record.get(k) for k in ("rails_applied", "baseline_source", "baseline_source_kind")
                        if k in record},
        "batches": batches,
        "outputs": [v["target"] for b in batches for v in b["variants"]],
        "job_ids": [v["job_id"] for b in batches for v in b["variants"]],
        "queue_dir": str(dirs.root),
    }
