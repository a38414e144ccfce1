"""A batch of variants of one prompt: names <prefix>-NN.<ext>, explicit recorded deltas, a manifest."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from ..cli import flags as cli
from ..errors import OutputExistsError
from ..fsutil import now_iso, write_json_atomic
from . import submit as enqueue, execute as runner
from .layout import QueueDirs, job_id


def add_variant_args(parser: argparse.ArgumentParser, default_count: int = 4) -> None:
    group = parser.add_argument_group("variants")
    group.add_argument("--count", type=cli.non_negative_int, default=default_count,
                       help=f"how many variants (default {default_count})")
    group.add_argument("--start-index", type=cli.non_negative_int, default=1, metavar="N",
                       help="number of the first variant, to continue an earlier batch's names (default 1)")
    group.add_argument("--max-jobs", type=cli.non_negative_int, metavar="N",
                       help="queue only the first N of --count (a controlled subset)")
    group.add_argument("--out-dir", type=Path, default=Path("./generated"),
                       help="folder for the variants (default ./generated)")
    group.add_argument("--prefix", default="variant", help="file names <prefix>-NN.png (default variant)")
    group.add_argument("--request-id", help="groups the jobs; re-running with the same id returns the same jobs")
    enqueue.add_queue_dir_arg(group)


def _targets(args: argparse.Namespace) -> list[tuple[int, Path]]:
    out_dir = Path(args.out_dir).expanduser().resolve()
    count = args.count if args.max_jobs is None else min(args.count, args.max_jobs)
    return [(n, out_dir / f"{args.prefix}-{n:02d}.png") for n in range(args.start_index, args.start_index + count)]


def _check_prefix(prefix: str) -> None:
    from ..errors import UsageError

    if not prefix or "/" in prefix or prefix in (".", "..") or prefix.startswith("."):
        raise UsageError(f"invalid --prefix {prefix!r}", details="use a plain file-name prefix such as crab-logo")


def _refuse_foreign_files(targets: list[tuple[int, Path]], request_id: str, overwrite: bool) -> None:
    """An earlier batch's images are not ours to overwrite unless asked."""
    if overwrite:
        return
    for number, target in targets:
        if not target.exists():
            continue
        try:
            owner = json.loads(Path(str(target) + ".json").read_text())["request"].get("job_id")
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            owner = None
        if owner != job_id(request_id, number):
            raise OutputExistsError(f"output exists: {target} (from an earlier batch; pass --overwrite to replace it)",
                                    details="or choose another --prefix or --start-index")


def _manifest(path: Path, request_id: str, overwrite: bool) -> dict[str, Any]:
    if not path.exists():
        return {}
    try:
        manifest = json.loads(path.read_text())
    except (OSError, ValueError):
        manifest = {}
    if manifest.get("request_id") not in (None, request_id) and not overwrite:
        raise OutputExistsError(f"manifest exists: {path} (request {manifest.get('request_id')}; pass --overwrite "
                                "to replace it)", details="or choose another --prefix")
    return manifest if manifest.get("request_id") == request_id else {}


def enqueue_batch(args: argparse.Namespace, *, request_id: str, base: Path) -> dict[str, Any]:
    """Validate once, then queue one job per variant and write the manifest."""
    _check_prefix(args.prefix)
    plan = enqueue.validate(args)
    dirs = QueueDirs.at(args.queue_dir)
    targets = _targets(args)
    manifest_path = Path(args.out_dir).expanduser().resolve() / f"{args.prefix}-manifest.json"
    _refuse_foreign_files(targets, request_id, args.overwrite)
    manifest = _manifest(manifest_path, request_id, args.overwrite)
    Path(args.out_dir).expanduser().mkdir(parents=True, exist_ok=True)
    locks = {"palette": bool(getattr(args, "lock_palette", False)),
             "composition": bool(getattr(args, "lock_composition", False))}
    total = args.start_index + args.count - 1
    variants, queued = [], []
    for position, (number, target) in enumerate(targets):
        args.output_file = target
        variation = None
        if args.count > 1 or args.start_index > 1:
            aspect, delta = enqueue.variation_delta(number - 1, locks)
            variation = {"aspect": aspect, "delta": delta,
                         "instruction": enqueue.variation_instruction(number, total, delta)}
        job = enqueue.make_job(args, kind="generate", request_id=request_id, base=base, plan=plan,
                               variation=variation)
        result = enqueue.enqueue(dirs, job, number)
        queued.append(result)
        variants.append({"index": number, "job_id": result["job_id"], "target": str(target),
                         "delta": variation, "state": result["state"]})
    record = plan.request_record()
    batches = [b for b in manifest.get("batches", []) if b.get("start_index") != args.start_index]
    batches.append({"created_at": now_iso(), "start_index": args.start_index, "count": len(targets),
                    "variants": variants})
    document = {
        "request_id": request_id,
        "prompt": plan.prompt,
        "model": plan.spec.id,
        "parameters": {k: v for k, v in runner.job_args(args, base).items() if k not in ("output_file", "prompt")},
        "request": record,
        "constraints": {k: record.get(k) for k in ("rails_applied", "baseline_source", "baseline_source_kind")
                        if k in record},
        "batches": batches,
        "outputs": [v["target"] for b in batches for v in b["variants"]],
        "job_ids": [v["job_id"] for b in batches for v in b["variants"]],
        "queue_dir": str(dirs.root),
    }
    write_json_atomic(manifest_path, document)
    return {"request_id": request_id, "queue_dir": str(dirs.root), "job_ids": [q["job_id"] for q in queued],
            "targets": [str(t) for _, t in targets], "jobs": queued, "manifest": str(manifest_path),
            "cost_estimate_usd": enqueue.total_estimate(queued),
            "status_command": enqueue.status_command(dirs, request_id)}
