"""A JSONL batch of jobs (``enqueue_image_job.py --jobs-file``) read as requests, one a line.

Every key is data, checked by the request layer as a stored job is; a line is never handed to a
parser. The keys a line may set are the enqueuer's declared options (``cli.command_options``).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from .. import validate
from ..errors import UsageError
from ..localjson import loads
from ..record import Record
from .options import Options

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


class LineKey(Record):
    """What one key of a jobs-file line sets."""

    field: str  # the request field
    negated: bool = False  # a --no-... flag's name: true sets the field to false
    convert: Callable[[Any], Any] | None = None  # another spelling's own rule (--image-size low is size 1K)


def line_keys(options: Options) -> dict[str, LineKey]:
    """The keys a jobs-file line may use: each request field the enqueuer has a flag for, by the field's
    name and by each of its flags' names without the dashes (seed 000's names: out, count, style_ref)."""
    from ..requests import GenerateRequest

    fields = {field.name for field in GenerateRequest.FIELDS} - NOT_JOB_KEYS
    keys: dict[str, LineKey] = {}
    for option in options:
        if not option.flags or option.dest not in fields:
            continue
        second_spelling = option.dest in keys  # --image-size after --size: its check turns it into the field's form
        keys.setdefault(option.dest, LineKey(option.dest))
        for flag in option.spellings():
            keys[flag.lstrip("-").replace("-", "_")] = LineKey(option.dest, option.negates(flag),
                                                               option.check if second_spelling else None)
    return keys


def line_request(entry: dict[str, Any], defaults: Any, keys: dict[str, LineKey]) -> tuple[Any, bool]:
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
        field, value = _line_field(name, value, keys)
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


def _line_field(name: str, value: Any, keys: dict[str, LineKey]) -> tuple[str, Any]:
    """The request field a line's key sets, and the value in the request's JSON form."""
    if name in NOT_JOB_KEYS:
        raise UsageError(f"'{name}' is a flag of the command, not of a job",
                         details=f"a line is a job's data; give --{name.replace('_', '-')} on the command line "
                                 "instead (--timeout and --retries given there are kept for every job)")
    if name == "name":  # as in examples/batch/prompts.jsonl: the output is <output_dir>/<name>.png
        return "name", validate_line_value(_file_stem, name, value)
    key = keys.get(name)
    if key is None:
        raise UsageError(f"unknown key '{name[:40]}'",
                         details="keys are generate_image.py's flags without the dashes, e.g. prompt, out, model, "
                                 "preset, aspect_ratio, size, n, style_ref, baseline_image, max_cost")
    if key.negated:
        return key.field, not validate_line_value(validate.flag, name, value)  # only true gets here
    if key.convert is not None:
        return key.field, validate_line_value(key.convert, name, value)
    if key.field in ("style_refs", "input_images", "must_keep") and isinstance(value, str):
        value = [value]  # one value of a repeatable flag
    return key.field, value


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
