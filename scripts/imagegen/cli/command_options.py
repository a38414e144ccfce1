"""Which options each command takes, and so each MCP tool: one function per command, composing the
shared sets of ``cli.flags`` and ``cli.queue_flags`` with the options only it has.

A command builds its parser from its function here (``runner.new_parser``); a tool takes its arguments
from the same function (``cli.arguments``). Imports a command's options need that a plain
generation does not are made inside its function, so that ``generate.py --help`` stays light.
"""

from __future__ import annotations

from functools import cache

from .. import validate
from . import flags
from .options import Option, Options

GENERATE_IMAGE_MODEL = "nanobanana-2"  # generate_image.py's and the queue's: an alias, resolved at run time
PROMPT = Option(("--prompt",), "prompt", "what to draw", required=True)
COUNT_HELP = "how many images (1-10; chat: one call each, at most 4 at once; --api images: one call)"


def generation(fallback_model: str | None = None, *, prompt: Option = PROMPT,
               count_flags: tuple[str, ...] = ("--n", "--count"), output: Options = flags.OUTPUT_OPTIONS,
               spending: Options = flags.SPENDING_OPTIONS, network: Options = flags.NETWORK_OPTIONS) -> Options:
    """Every generate flag; generate_image.py and the queue scripts share them (with another default
    model, and their own output, spending and network options)."""
    return (
        prompt,
        *flags.model_options(fallback_model=fallback_model, provider=True),
        *flags.STYLE_OPTIONS,
        Option(("--input-image",), "input_images", "an image the model should work from", metavar="PATH"),
        Option(("--prompt-upsampling",), "prompt_upsampling",
               "FLUX prompt upsampling (default on for FLUX, off for low-variation baseline edits; ignored by other "
               "models)", action="toggle"),
        Option(count_flags, "n", COUNT_HELP, validate.count, 1),
        *flags.BASELINE_OPTIONS,
        *flags.CLARIFY_OPTIONS,
        *flags.ENHANCE_OPTIONS,
        *flags.images_api_options(),
        *flags.REVIEW_LOOP_OPTIONS,
        *output,
        *spending,
        *network,
    )


def queued_generation(*, prompt: Option = PROMPT, count_flags: tuple[str, ...] = ("--n", "--count"),
                      output_paths: bool = False) -> Options:
    """The generation flags of generate_image.py (seed 000's names and default model) as an enqueuer
    means them, with --via: the queue scripts' first options. Without ``output_paths`` the outputs
    are named by the queue script's own options (--out-dir, --prefix)."""
    from . import queue_flags

    output = (*flags.OUTPUT_PATHS, *queue_flags.QUEUED_OUTPUT) if output_paths else queue_flags.QUEUED_OUTPUT
    return (*generation(GENERATE_IMAGE_MODEL, prompt=prompt, count_flags=count_flags, output=output, spending=(),
                        network=queue_flags.QUEUED_NETWORK), *queue_flags.QUEUED_SPENDING, queue_flags.VIA)


@cache
def generate() -> Options:
    return generation()


@cache
def generate_image() -> Options:
    return generation(GENERATE_IMAGE_MODEL)


@cache
def edit() -> Options:
    from ..images import masks
    from ..pipeline import mask_edit
    from ..pipeline.edit import DEFAULT_EDIT_MODEL

    mask = "mask inpainting (--mode openai)"
    return (
        Option(("--mode",), "mode", "openrouter (instruction edit) or openai (mask inpainting); default openai when "
                                    "--mask or --mask-rect is given, else openrouter",
               choices=("openrouter", "openai")),
        Option(("--input-image",), "input_images",
               "image to edit (PNG, JPEG, WebP); repeat to send more images, the first is edited", action="list",
               required=True, metavar="PATH"),
        Option(("--prompt",), "prompt", "the edit instruction, or what to paint in the masked area", required=True),
        Option(("--n", "--count"), "n", "how many variants (1-10; openai and --api images: one call, chat: one call "
                                         "each)", validate.count, 1),
        *flags.model_options(fallback_model=DEFAULT_EDIT_MODEL, fallback_ratio="nearest the input image"),
        *flags.STYLE_OPTIONS,
        *flags.images_api_options(also_openai=True),
        *(option.but(group=mask) for option in (
            Option(("--mask",), "mask", "PNG with alpha, the image's size, under 4 MB; transparent pixels are "
                                        "repainted", metavar="PATH"),
            Option(("--mask-rect",), "mask_rects",
                   "draw the mask: repaint this rectangle, in pixels or percentages (repeatable)", masks.rect_spec,
                   action="list", metavar="X,Y,W,H"),
            Option(("--mask-invert",), "mask_invert", "with --mask-rect: keep the rectangles, repaint the rest",
                   action="true"),
            Option(("--markup",), "markup", "GPT Image 2.5: a transparent PNG overlay whose marks guide the edit "
                                            "(not with a mask)", metavar="PATH"),
            Option(("--keep-unmasked",), "keep_unmasked",
                   "put the input's own pixels back everywhere the mask keeps, so only the masked area changes (PNG "
                   "input; sent in a frame the model makes, brought back to the input's size)", action="true"),
            Option(("--openai-model",), "openai_model", f"OpenAI image model (default {mask_edit.DEFAULT_MODEL})"),
            Option(("--openai-size",), "openai_size",
                   "output size: " + ", ".join(mask_edit.SIZES) + "; gpt-image-2 takes any WIDTHxHEIGHT with both "
                   "sides multiples of 16, up to 3840x2160 (default: the model's)", validate.openai_size),
            Option(("--input-fidelity",), "input_fidelity",
                   "how closely to preserve faces and details of the input (gpt-image-2.5 and later; gpt-image-2 "
                   "takes none)", choices=mask_edit.FIDELITIES),
        )),
        *flags.OUTPUT_OPTIONS,
        *flags.SPENDING_OPTIONS,
        *flags.NETWORK_OPTIONS,
    )


@cache
def review() -> Options:
    from ..prompt import choices

    return (
        Option(("--image",), "image", "the image to review", required=True, metavar="PATH"),
        Option(("--original-prompt",), "original_prompt",
               "the prompt the image was made from (default: from its sidecar)"),
        Option(("--compare",), "compare", "a second candidate for the same prompt; names the better", metavar="IMG2"),
        Option(("--auto",), "auto", "have a vision model score the image (needs a key)", action="true"),
        Option(("--provider",), "provider",
               "anthropic (ANTHROPIC_API_KEY) or openrouter; default anthropic when its key is set",
               choices=choices.REVIEW_PROVIDERS),
        Option(("--review-model",), "review_model", "vision model (default " + ", ".join(
            f"{model} on {provider}" for provider, model in choices.DEFAULT_REVIEW_MODELS.items()) + ")"),
        Option(("--no-review-file",), "review_file", "do not write <image>.review.json beside the image",
               action="false"),
        *flags.SPENDING_OPTIONS,
        *flags.NETWORK_OPTIONS,
    )


@cache
def enqueue_image_job() -> Options:
    from . import queue_flags

    return (*queued_generation(prompt=PROMPT.but(required=False), output_paths=True),  # or a --jobs-file's prompts
            *queue_flags.enqueue_options())


@cache
def enqueue_variants() -> Options:
    from . import queue_flags

    return (*queued_generation(count_flags=("--n",)), *queue_flags.variant_options(4))


@cache
def queue_and_return() -> Options:
    from . import queue_flags

    return (*queued_generation(count_flags=("--n",)), *queue_flags.variant_options(1),
            *queue_flags.worker_options(), queue_flags.ALLOW_ROOT,
            Option(("--dry-run-worker",), "dry_run_worker",
                   "queue the jobs but start no worker (worker state: not_spawned)", action="true"))


@cache
def queue_status() -> Options:
    from . import queue_flags

    return (
        queue_flags.queue_dir(),
        Option(("--request-id",), "request_id",
               "report this request's jobs: state, attachments, failures, cost, done"),
        Option(("--wait",), "wait", "with --request-id: block until every job has finished", action="true"),
        Option(("--timeout",), "timeout", "seconds --wait may block (default 600)", validate.positive_float, 600.0),
        Option(("--quiet",), "quiet", "no progress line on stderr while --wait blocks (one every 15 s otherwise)",
               action="true", tool=False),
        Option(("--cancel",), "cancel", "stop this request: cancel its batches at the provider and its pending jobs "
                                        "(a call in flight finishes)", metavar="REQUEST"),
        Option(("--max-background-workers",), "max_background_workers",
               f"slot count to report on (1-{validate.MAX_WORKERS}, default 2)", validate.workers, 2, metavar="N"),
    )


@cache
def run_image_queue() -> Options:
    from . import queue_flags

    return (
        queue_flags.queue_dir(),
        *queue_flags.worker_options(),
        queue_flags.ALLOW_ROOT,
        Option(("--concurrency",), "concurrency", "jobs run at once by this worker (1-10, default 4)",
               validate.count, 4, metavar="N"),
        Option(("--max-jobs",), "max_jobs", "stop after claiming N jobs", validate.non_negative_int, metavar="N"),
        Option(("--request-id",), "request_id", "drain only this request's jobs (others are left alone)"),
        Option(("--job-timeout",), "job_timeout", "seconds one provider call may take (default 300)",
               validate.positive_float, 300.0, metavar="S"),
        Option(("--retries",), "retries", f"HTTP retries inside one attempt (0-{validate.MAX_RETRIES}, default 2)",
               validate.retries, 2),
        Option(("--idle-exit-sec",), "idle_exit_sec",
               "exit after nothing has been runnable this long; 0 exits as soon as the queue is empty (default 3)",
               validate.non_negative_float, 3.0, metavar="S"),
        Option(("--handoff-mode",), "handoff_mode", "recorded in each result: who started this drain (default "
                                                    "foreground)", default="foreground",
               choices=("foreground", "background", "cron")),
        Option(("--quiet",), "quiet", "no progress lines on stderr", action="true", tool=False),
        Option(("--log-file",), "log_file",
               "append the progress lines and the JSON summary (one line; an idle run: one short line) to FILE "
               "instead of stderr and stdout, creating its folders: for cron. Over 1 MB it is rotated to FILE.1 "
               "(FILE.2, FILE.3 kept)", metavar="FILE", path=True),
    )


@cache
def models() -> Options:
    from ..models import catalogue

    network = "network (with --refresh)"
    return (
        Option(("--table",), "table", "print an aligned table instead of JSON", action="true", exclusive="show",
               tool=False),
        Option(("--markdown",), "markdown", "print the model card (built-in registry only) as Markdown", action="true",
               exclusive="show", tool=False),
        Option(("--alias",), "alias", "resolve one alias or full id and print only that model", metavar="NAME",
               exclusive="show"),
        Option(("--refresh",), "refresh", "fetch GET /models?output_modalities=image and cache it (fresh for "
                                          f"{catalogue.MAX_AGE_SECONDS // 3600}h) under the user's cache directory; "
                                          "with GEMINI_API_KEY or OPENAI_API_KEY set, their model lists too (aliases "
                                          "resolve against them)", action="true"),
        Option(("--timeout",), "timeout", "seconds to wait for OpenRouter (default 30)", validate.positive_float,
               30.0, group=network),
        Option(("--retries",), "retries", "retries on 429/5xx and connection errors (0-10, default 2)",
               validate.retries, 2, group=network),
        Option(("--quiet",), "quiet", "no notes on stderr", action="true", group=network, tool=False),
    )


@cache
def spend() -> Options:
    return (
        Option(("--since",), "since", "first day to count: YYYY-MM-DD, today, yesterday or Nd", metavar="DAY"),
        Option(("--until",), "until", "last day to count (same forms; default today)", metavar="DAY"),
        Option(("--request-id",), "request_id", "only calls made for this request or job id", validate.label,
               metavar="ID"),
        Option(("--table",), "table", "print a table instead of JSON", action="true", tool=False),
    )


@cache
def preflight_check() -> Options:
    from pathlib import Path

    from . import queue_flags

    return (
        Option(("--json",), "json", "print one JSON document instead of text", action="true", tool=False),
        Option(("--online",), "online", "also call GET /key to confirm the OpenRouter key works and report its "
                                        "credit", action="true"),
        Option(("--fix",), "fix", "create the missing output and queue directories, and return stranded queue jobs "
                                  "to pending/ (as a worker's recovery would)", action="true"),
        Option(("--output-dir",), "output_dir", "the output directory to check (default ./data, as generate.py uses)",
               default=Path("./data"), path=True),
        queue_flags.queue_dir("the job queue to check"),
        *queue_flags.worker_options(),
        Option(("--timeout",), "timeout", "seconds to wait for GET /key with --online (default 15)",
               validate.positive_float, 15.0),
    )


@cache
def mcp_server() -> Options:
    return (
        Option(("--progress-interval",), "progress_interval",
               "seconds between progress notifications of a running call that asked for them (default 2)",
               validate.positive_float, 2.0, metavar="S"),
        Option(("--shutdown-grace",), "shutdown_grace",
               "at the end of input, seconds the calls still running may take to finish (default 30); paid calls "
               "still out after that are recorded as charge_unknown", validate.non_negative_float, 30.0, metavar="S"),
        Option(("--max-calls",), "max_calls", "tool calls that run at once; more wait their turn (default 4)",
               validate.workers, 4, metavar="N"),
        Option(("--workdir",), "workdir",
               "folder that relative paths in tool calls start from, ./data/ included (default: the folder the "
               "client starts the server in); tool calls may read and write only inside it, the --allow-root "
               "folders, the allow_roots of the config file and the roots the client lists", metavar="DIR"),
        Option(("--allow-root",), "allow_root", "also let tool calls read and write inside DIR (repeatable)",
               default=[], action="list", metavar="DIR"),
    )


@cache
def gallery() -> Options:
    from ..queue.layout import DEFAULT_QUEUE_DIR

    return (
        Option(("--dir",), "dir", "every image in DIR (the page goes to DIR/index.html)", metavar="DIR", path=True,
               required=True, exclusive="source"),
        Option(("--request-id",), "request_id", "the images of one queue request (with --queue-dir)", validate.label,
               metavar="ID", required=True, exclusive="source"),
        Option(("--manifest",), "manifest",
               'a JSON file listing outputs: {"variants": [{"path": ...}]} or {"outputs": [...]}', metavar="FILE",
               path=True, required=True, exclusive="source"),
        Option(("--queue-dir",), "queue_dir", f"the job queue (default {DEFAULT_QUEUE_DIR})", path=True),
        Option(("--recursive",), "recursive", "with --dir, include images in subfolders", action="true"),
        Option(("--out",), "out", "where to write the page (default: see above)", metavar="PATH", path=True),
        Option(("--title",), "title", "page title (default: the folder, request or manifest name)"),
        Option(("--overwrite",), "overwrite", "replace --out even if it is not a page this script made earlier",
               action="true"),
    )
