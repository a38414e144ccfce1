"""The flags of the queue scripts, and a JSONL batch read as the flags of its lines."""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

from .. import validate
from ..errors import UsageError
from ..queue.layout import check_request_id
from ..queue.variants import VariantBatch
from . import flags as cli


def request_id_from(args: argparse.Namespace) -> str:
    """The given --request-id, checked, or a fresh one when none was given."""
    if args.request_id is None:
        return f"req-{time.strftime('%Y%m%d-%H%M%S')}-{os.urandom(3).hex()}"
    return check_request_id(args.request_id)


def jobs_file_argv(path: Path) -> list[tuple[int, list[str]]]:
    """Each JSONL line's flags as an argv list: {"prompt": "x", "lock_palette": true} -> [--prompt x --lock-palette]."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as error:
        raise UsageError(f"cannot read --jobs-file {path}: {error}") from None
    result = []
    for number, line in enumerate(lines, 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        try:
            entry = json.loads(line)
        except ValueError as error:
            raise UsageError(f"{path}:{number}: not valid JSON ({error})") from None
        if not isinstance(entry, dict):
            raise UsageError(f"{path}:{number}: each line must be a JSON object of flags")
        argv: list[str] = []
        for key, value in entry.items():
            flag = "--" + str(key).replace("_", "-")
            if value is True:
                argv.append(flag)
            elif value is False or value is None:
                continue
            elif isinstance(value, list):
                for item in value:
                    argv += [flag, str(item)]
            else:
                argv += [flag, str(value)]
        result.append((number, argv))
    return result


def base_parser(prog: str, description: str) -> argparse.ArgumentParser:
    """The generation flags of generate_image.py (seed 000's names and default model), ready for queue flags."""
    from ..commands.generate_image import build_parser  # cli may build on a command's parser; the queue may not

    parser = build_parser()
    parser.prog = prog
    parser.description = description
    parser.conflict_handler = "resolve"  # queue scripts give --count and --max-jobs their own meaning
    return parser


def add_queue_dir_arg(parser: argparse.ArgumentParser) -> None:
    from ..queue.layout import DEFAULT_QUEUE_DIR

    parser.add_argument("--queue-dir", type=Path, default=DEFAULT_QUEUE_DIR,
                        help=f"the queue directory (default {DEFAULT_QUEUE_DIR})")


def add_worker_args(parser: argparse.ArgumentParser) -> None:
    from ..queue.leases import DEFAULT_MAX_ATTEMPTS, DEFAULT_ORPHAN_TIMEOUT, DEFAULT_SLOTS

    group = parser.add_argument_group("worker")
    group.add_argument("--max-background-workers", type=cli.workers, default=DEFAULT_SLOTS, metavar="N",
                       help=f"worker slots: at most N workers drain this queue at once "
                            f"(1-{validate.MAX_WORKERS}, default {DEFAULT_SLOTS})")
    group.add_argument("--orphan-timeout-sec", type=cli.positive_float, default=DEFAULT_ORPHAN_TIMEOUT, metavar="S",
                       help="recover a running job whose worker cannot be proven alive after S seconds; one "
                            f"whose worker is provably dead is recovered at once (default {DEFAULT_ORPHAN_TIMEOUT:g})")
    group.add_argument("--max-attempts", type=cli.attempts, default=DEFAULT_MAX_ATTEMPTS, metavar="N",
                       help=f"attempts before a job goes to failed/ (1-{validate.MAX_ATTEMPTS}, "
                            f"default {DEFAULT_MAX_ATTEMPTS})")


def add_variant_args(parser: argparse.ArgumentParser, default_count: int = 4) -> None:
    group = parser.add_argument_group("variants")
    group.add_argument("--count", type=cli.variant_count, default=default_count,
                       help=f"how many variants (1-{validate.MAX_VARIANTS}, default {default_count})")
    group.add_argument("--start-index", type=cli.variant_index, default=1, metavar="N",
                       help=f"number of the first variant, to continue an earlier batch's names "
                            f"(0-{validate.MAX_VARIANT_INDEX}, default 1)")
    group.add_argument("--max-jobs", type=cli.non_negative_int, metavar="N",
                       help="queue only the first N of --count (a controlled subset)")
    group.add_argument("--out-dir", type=Path, default=Path("./generated"),
                       help="folder for the variants (default ./generated)")
    group.add_argument("--prefix", default="variant", help="file names <prefix>-NN.png (default variant)")
    group.add_argument("--request-id", help="groups the jobs; re-running with the same id returns the same jobs")
    add_queue_dir_arg(group)


def variant_batch(args: argparse.Namespace) -> VariantBatch:
    return VariantBatch(queue_dir=Path(args.queue_dir), out_dir=Path(args.out_dir), prefix=args.prefix,
                        count=args.count, start_index=args.start_index, max_jobs=args.max_jobs)
