"""The flags of the queue scripts, and a JSONL batch read as requests, one a line."""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path
from typing import Any

from .. import validate
from ..errors import UsageError
from ..localjson import loads
from ..queue.layout import check_request_id
from ..queue.variants import VariantBatch
from . import flags as cli


def request_id_from(args: argparse.Namespace) -> str:
    """The given --request-id, checked, or a fresh one when none was given."""
    if args.request_id is None:
        return f"req-{time.strftime('%Y%m%d-%H%M%S')}-{os.urandom(3).hex()}"
    return check_request_id(args.request_id)


# Jobs-file keys that name a request field under a flag's name (seed 000's names, dashes or underscores).
LINE_RENAMED = {"out": "output_file", "count": "n", "style_ref": "style_refs", "input_image": "input_images"}
LINE_NEGATED = {"no_sidecar": "sidecar", "no_lock_palette": "lock_palette",
                "no_lock_composition": "lock_composition", "no_prompt_upsampling": "prompt_upsampling"}
# Flags of an invocation, not of a job: refused on a line rather than silently dropped (or obeyed).
NOT_JOB_KEYS = frozenset({"help", "version", "dry_run", "quiet", "timeout", "retries", "request_id",
                          "variant_index", "queue_dir", "jobs_file"})


def jobs_file_lines(path: Path) -> list[tuple[int, dict[str, Any]]]:
    """(line number, JSON object) for every job line of a JSONL file; blank lines and # comments skipped."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as error:
        raise UsageError(f"cannot read --jobs-file {path}: {error}") from None
    result = []
    for number, line in enumerate(lines, 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        try:
            entry = loads(line, name=f"{path}:{number}")
        except ValueError as error:  # not JSON, or nested too deep
            raise UsageError(f"{error}".replace(": not readable JSON", ": not valid JSON", 1)) from None
        if not isinstance(entry, dict):
            raise UsageError(f"{path}:{number}: each line must be a JSON object of flags")
        result.append((number, entry))
    return result


def line_fields(parser: argparse.ArgumentParser) -> frozenset[str]:
    """The request fields a jobs-file line may set: those generate_image.py has a flag for."""
    from ..requests import GenerateRequest
    from .requests import RENAMED

    flags = {RENAMED.get(action.dest, action.dest) for action in parser._actions}
    return frozenset(flags & {field.name for field in GenerateRequest.FIELDS}) - NOT_JOB_KEYS


def line_request(entry: dict[str, Any], defaults: Any, fields: frozenset[str]) -> tuple[Any, bool]:
    """(request, show hints) for one jobs-file line, checked by the request layer as a stored job is.

    Every key is data: a line is never handed to a parser, so no value can become ``--help``, an
    abbreviated flag or any other parser action."""
    from ..requests import GenerateRequest

    values: dict[str, Any] = {}
    show_hints = False
    for key, value in entry.items():
        name = str(key).replace("-", "_")
        if value is None or value is False:
            continue  # "not given", as an absent flag (so "lock_palette": false is not --no-lock-palette)
        if name == "clarify_hints":
            show_hints = validate_line_value(validate.flag, name, value)
            continue
        field, value = _line_field(name, value, fields, values)
        if field in values:
            raise UsageError(f"'{key}' sets '{field}' a second time", details="give each setting once per line")
        values[field] = value
    if "prompt" not in values:
        raise UsageError("missing prompt", details='every line needs "prompt", e.g. {"prompt": "A red fox"}')
    document = {k: v for k, v in defaults.to_json().items() if v is not None}
    if "output_file" not in values and "name" in values:
        values["output_file"] = str(Path(values.get("output_dir", document.get("output_dir", "data"))) /
                                    f"{values['name']}.png")
    values.pop("name", None)
    return GenerateRequest.from_json({**document, **values}), show_hints


def _line_field(name: str, value: Any, fields: frozenset[str], given: dict[str, Any]) -> tuple[str, Any]:
    """The request field a line's key sets, and the value in the request's JSON form."""
    if name in NOT_JOB_KEYS:
        raise UsageError(f"'{name}' is a flag of the command, not of a job",
                         details=f"a line is a job's data; give --{name.replace('_', '-')} on the command line "
                                 "instead (--timeout and --retries given there are kept for every job)")
    if name in LINE_NEGATED:
        return LINE_NEGATED[name], not validate_line_value(validate.flag, name, value)  # only true gets here
    if name == "image_size":
        return "size", validate_line_value(validate.image_size, name, value)
    if name == "name":  # as in examples/batch/prompts.jsonl: the output is <output_dir>/<name>.png
        return "name", validate_line_value(_file_stem, name, value)
    field = LINE_RENAMED.get(name, name)
    if field not in fields:
        raise UsageError(f"unknown key '{name[:40]}'",
                         details="keys are generate_image.py's flags without the dashes, e.g. prompt, out, model, "
                                 "preset, aspect_ratio, size, n, style_ref, baseline_image, max_cost")
    if field in ("style_refs", "input_images", "must_keep") and isinstance(value, str):
        value = [value]  # one value of a repeatable flag
    return field, value


def validate_line_value(check: Any, name: str, value: Any) -> Any:
    try:
        return check(value)
    except ValueError as error:
        raise UsageError(f"'{name}' is not usable: {error}") from None


def _file_stem(value: Any) -> str:
    stem = validate.text(value)
    if not stem or "/" in stem or stem.startswith("."):
        raise ValueError(f"{stem[:40]!r} is not a plain file name")
    return stem


def base_parser(prog: str, description: str) -> argparse.ArgumentParser:
    """The generation flags of generate_image.py (seed 000's names and default model), ready for queue flags."""
    from ..commands.generate_image import build_parser  # cli may build on a command's parser; the queue may not

    from .runner import program_name

    parser = build_parser()
    parser.prog = program_name(prog)
    parser.description = description
    parser.conflict_handler = "resolve"  # queue scripts give --count and --max-jobs their own meaning
    adapt_generation_flags(parser)
    add_budget_args(parser)
    parser.add_argument("--via", choices=("sync", "batch"), default="sync",
                        help="sync (default): each job is its own call, within seconds of its turn; batch: the "
                             "provider's batch engine (Google or OpenAI) makes the jobs at half the price within "
                             "24-48 hours, collected by later drains (cron)")
    return parser


def drop_flags(parser: argparse.ArgumentParser, *dests: str) -> None:
    """Take generate_image.py flags a queue script has no use for out of its parser (and its --help)."""
    for action in [a for a in parser._actions if a.dest in dests]:
        parser._remove_action(action)
        for group in parser._action_groups:
            if action in group._group_actions:
                group._group_actions.remove(action)
        for option in action.option_strings:
            parser._option_string_actions.pop(option, None)


def adapt_generation_flags(parser: argparse.ArgumentParser) -> None:
    """The generation flags as an enqueuer means them: --dry-run queues nothing, and --timeout and
    --retries are kept for the job (unset, the worker's own apply)."""
    parser.set_defaults(timeout=None, retries=None)
    for action in parser._actions:
        if action.dest == "dry_run":
            action.help = ("check everything and print what would be queued (jobs, targets, estimate); "
                           "queue nothing, start nothing, send nothing")
        elif action.dest == "timeout":
            action.help = "seconds each job's provider calls may take (default: the worker's --job-timeout)"
        elif action.dest == "retries":
            action.help = (f"HTTP retries within each attempt of the jobs (0-{validate.MAX_RETRIES}; "
                           "default: the worker's --retries)")
        elif action.dest == "quiet":
            action.help = "no warnings on stderr"
        elif action.dest == "overwrite":
            action.help = "let the jobs replace existing output files (otherwise refused before queueing)"


def add_budget_args(parser: argparse.ArgumentParser) -> None:
    """On a queue command --max-cost caps the whole request (all its jobs, on what they are charged);
    --max-cost-per-job caps each job, as --max-cost caps one run of generate.py."""
    group = parser.add_argument_group("spending")
    group.add_argument("--max-cost", dest="request_max_cost", type=cli.non_negative_float, metavar="USD",
                       help="cap the whole request at USD: refused at once (exit 5, nothing queued) when the jobs' "
                            "estimates pass it; then held on what the provider actually charges, so jobs that "
                            "would pass it are not sent and end in the budget state (queue_status.py shows what "
                            "was spent); it can be passed by at most one job's cost")
    group.add_argument("--max-cost-per-job", dest="max_cost", type=cli.non_negative_float, metavar="USD",
                       help="refuse any one job whose estimated cost exceeds USD (exit 5 at enqueue; a job that no "
                            "longer fits when it runs ends in the budget state)")


def run_settings(args: argparse.Namespace) -> dict[str, Any]:
    """The --timeout, --retries, --via batch and the request's --max-cost given at enqueue time,
    which the jobs keep."""
    settings = {key: getattr(args, key) for key in ("timeout", "retries") if getattr(args, key, None) is not None}
    if getattr(args, "via", "sync") == "batch":
        settings["via"] = "batch"
    if getattr(args, "request_max_cost", None) is not None:
        settings["request_max_cost_usd"] = args.request_max_cost
    return settings


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


def add_allow_root_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--allow-root", action="append", default=[], metavar="DIR",
                        help="a folder jobs may read inputs from and write images to, besides the folder holding the "
                             "queue directory and the working directory (repeatable; also 'allow_roots' in "
                             "$XDG_CONFIG_HOME/image-gen/config.json)")


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
    group.add_argument("--prefix", help="file names <prefix>-NN.png (default: the --request-id, else the prompt's "
                                         "first words and a tag of this request, so requests never share names)")
    group.add_argument("--request-id", help="groups the jobs; re-running with the same id returns the same jobs")
    add_queue_dir_arg(group)
    drop_flags(parser, "output_dir", "output_file")  # the variants' names come from --out-dir and --prefix


def variant_batch(args: argparse.Namespace) -> VariantBatch:
    return VariantBatch(queue_dir=Path(args.queue_dir), out_dir=Path(args.out_dir), prefix=args.prefix,
                        count=args.count, start_index=args.start_index, max_jobs=args.max_jobs)
