"""The options of the queue scripts, declared as ``cli.options`` rows (light: every command's --help
builds some of them)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import validate
from . import flags
from .options import Option, Options

if TYPE_CHECKING:
    from ..queue.variants import VariantBatch


QUEUE = "queue"
VIA = Option(("--via",), "via", "sync (default): each job is its own call, within seconds of its turn; batch: the "
                                "provider's batch engine (Google or OpenAI) makes the jobs at half the price within "
                                "24-48 hours, collected by later drains (cron)", default="sync",
             choices=("sync", "batch"))
# The generation flags as an enqueuer means them: --dry-run queues nothing, and --timeout and --retries
# are kept for the job (unset, the worker's own apply).
QUEUED_NETWORK: Options = (
    flags.TIMEOUT.but(default=None, help="seconds each job's provider calls may take (default: the worker's "
                                         "--job-timeout)"),
    flags.RETRIES.but(default=None, help=f"HTTP retries within each attempt of the jobs (0-{validate.MAX_RETRIES}; "
                                         "default: the worker's --retries)"),
    flags.DRY_RUN.but(help="check everything and print what would be queued (jobs, targets, estimate); queue "
                           "nothing, start nothing, send nothing"),
    flags.QUIET.but(help="no warnings on stderr", group=flags.NETWORK),
)
# On a queue command --max-cost caps the whole request (all its jobs, on what they are charged);
# --max-cost-per-job caps each job, as --max-cost caps one run of generate.py.
QUEUED_SPENDING: Options = tuple(option.but(group="spending") for option in (
    Option(("--max-cost",), "request_max_cost",
           "cap the whole request at USD: refused at once (exit 5, nothing queued) when the jobs' estimates pass it; "
           "then held on what the provider actually charges, so jobs that would pass it are not sent and end in the "
           "budget state (queue_status.py shows what was spent); it can be passed by at most one job's cost",
           validate.non_negative_float, metavar="USD"),
    flags.MAX_COST.but(flags=("--max-cost-per-job",),
                       help="refuse any one job whose estimated cost exceeds USD (exit 5 at enqueue; a job that no "
                            "longer fits when it runs ends in the budget state)"),
))
QUEUED_OUTPUT: Options = (
    flags.OVERWRITE.but(help="let the jobs replace existing output files (otherwise refused before queueing)"),
    flags.SIDECAR,
)


def queue_dir(what: str = "the queue directory") -> Option:
    from ..queue.layout import DEFAULT_QUEUE_DIR

    return Option(("--queue-dir",), "queue_dir", f"{what} (default {DEFAULT_QUEUE_DIR})", default=DEFAULT_QUEUE_DIR,
                  path=True)


def enqueue_options() -> Options:
    return tuple(option.but(group=QUEUE) for option in (
        queue_dir(),
        Option(("--request-id",), "request_id", "groups jobs for status and idempotency (default: a new id)"),
        Option(("--variant-index",), "variant_index",
               f"variant number within the request, 0-{validate.MAX_VARIANT_INDEX} (default: next free, or the job "
               "with the same --out)", validate.variant_index, metavar="N"),
        Option(("--jobs-file",), "jobs_file", "one job per line, flags as keys (read as data, never as flags), "
                                              "e.g. {\"prompt\": \"...\", \"out\": \"a.png\"}", metavar="FILE.jsonl",
               path=True, tool=False),  # a tool call is one job: a batch is several calls
    ))


def worker_options() -> Options:
    from ..queue.leases import DEFAULT_MAX_ATTEMPTS, DEFAULT_ORPHAN_TIMEOUT, DEFAULT_SLOTS

    return tuple(option.but(group="worker") for option in (
        Option(("--max-background-workers",), "max_background_workers",
               f"worker slots: at most N workers drain this queue at once (1-{validate.MAX_WORKERS}, default "
               f"{DEFAULT_SLOTS})", validate.workers, DEFAULT_SLOTS, metavar="N"),
        Option(("--orphan-timeout-sec",), "orphan_timeout_sec",
               "recover a running job whose worker cannot be proven alive after S seconds; one whose worker is "
               f"provably dead is recovered at once (default {DEFAULT_ORPHAN_TIMEOUT:g})", validate.positive_float,
               DEFAULT_ORPHAN_TIMEOUT, metavar="S"),
        Option(("--max-attempts",), "max_attempts",
               f"attempts before a job goes to failed/ (1-{validate.MAX_ATTEMPTS}, default {DEFAULT_MAX_ATTEMPTS})",
               validate.attempts, DEFAULT_MAX_ATTEMPTS, metavar="N"),
    ))


ALLOW_ROOT = Option(("--allow-root",), "allow_root",
                    "a folder jobs may read inputs from and write images to, besides the folder holding the queue "
                    "directory and the working directory (repeatable; also 'allow_roots' in "
                    "$XDG_CONFIG_HOME/image-gen/config.json)", default=[], action="list", metavar="DIR")


def variant_options(default_count: int) -> Options:
    """The variants' own options; their names come from --out-dir and --prefix (no --output-file)."""
    return tuple(option.but(group="variants") for option in (
        Option(("--count",), "count", f"how many variants (1-{validate.MAX_VARIANTS}, default {default_count})",
               validate.variant_count, default_count),
        Option(("--start-index",), "start_index", "number of the first variant, to continue an earlier batch's "
                                                  f"names (0-{validate.MAX_VARIANT_INDEX}, default 1)",
               validate.variant_index, 1, metavar="N"),
        Option(("--max-jobs",), "max_jobs", "queue only the first N of --count (a controlled subset)",
               validate.non_negative_int, metavar="N"),
        Option(("--out-dir",), "out_dir", "folder for the variants (default ./generated)", default=Path("./generated"),
               path=True),
        Option(("--prefix",), "prefix", "file names <prefix>-NN.png (default: the --request-id, else the prompt's "
                                        "first words and a tag of this request, so requests never share names)"),
        Option(("--request-id",), "request_id",
               "groups the jobs; re-running with the same id returns the same jobs"),
        queue_dir(),
    ))


def variant_batch(values: Mapping[str, Any]) -> VariantBatch:
    """The variants asked for by the options of ``variant_options`` (a Namespace's vars, a tool call's values)."""
    from ..queue.variants import VariantBatch

    return VariantBatch(queue_dir=Path(values["queue_dir"]), out_dir=Path(values["out_dir"]), prefix=values["prefix"],
                        count=values["count"], start_index=values["start_index"], max_jobs=values["max_jobs"])
