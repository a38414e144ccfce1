"""The tools: one per script an agent needs, each a thin adapter over the library calls its command
makes. A tool's arguments are its command's declared options (``cli.command_options``, read by
``cli.arguments``); its result is the document the script prints; what it runs is a typed library
function (``adapters``), never the command's argparse handler.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .. import validate
from ..cli import command_options
from ..cli.arguments import Argument, tool_arguments
from ..cli.options import Options
from ..record import Record
from ..requests import EditRequest, Field, GenerateRequest, Request, ReviewRequest
from . import adapters, protocol, schemas

if TYPE_CHECKING:
    from .invoke import Invocation

PREVIEW = Argument(
    "inline_preview", Field("inline_preview", validate.flag, False),
    "also return a small preview of each image as an image content block: the file itself when under 256 KB, "
    "else a PNG shrunk to 256 pixels a side (off by default: each saved file is linked as a resource_link)", False)


def _hints(read_only: bool, open_world: bool, idempotent: bool = False, destructive: bool = False) -> dict[str, bool]:
    """The tool's annotations. ``destructive``: it can replace a file that exists (an output with
    overwrite, a review file, a manifest)."""
    return {"readOnlyHint": read_only, "destructiveHint": destructive, "idempotentHint": idempotent,
            "openWorldHint": open_world}


class Tool(Record):
    name: str
    title: str
    description: str
    options: Callable[[], Options]  # its command's declared options (cli.command_options)
    request: type[Request] | None  # the typed request its arguments become
    outputs: tuple[str, ...]  # references/schemas/ documents a success matches
    hints: dict[str, bool]
    run: Callable[[Invocation], dict[str, Any]]  # the library call it makes (adapters)
    preview: bool = False  # offers inline_preview
    passed: Callable[[dict[str, Any]], bool] | None = None  # a report's success (preflight); else always

    def arguments(self) -> tuple[Argument, ...]:
        if self.name not in _arguments:
            found = tool_arguments(self.options(), self.request)
            _arguments[self.name] = found + ((PREVIEW,) if self.preview else ())
        return _arguments[self.name]

    def definition(self, version: str) -> dict[str, Any]:
        """This tool as ``tools/list`` shows it to a client speaking ``version``."""
        found: dict[str, Any] = {"name": self.name}
        if protocol.at_least(version, protocol.STRUCTURED_SINCE):
            found["title"] = self.title
        found["description"] = self.description
        found["inputSchema"] = schemas.input_schema(self.arguments())
        output = schemas.output_schema(self.outputs)
        if output is not None and protocol.at_least(version, protocol.STRUCTURED_SINCE):
            found["outputSchema"] = output
        if protocol.at_least(version, protocol.ANNOTATIONS_SINCE):
            found["annotations"] = {"title": self.title, **self.hints}
        return found


_arguments: dict[str, tuple[Argument, ...]] = {}

TOOLS = (
    Tool("generate", "Generate images",
         "Make images from a text prompt through OpenRouter (flux.2-pro by default; gpt-5-image for text in the "
         "image, nanobanana-pro for edits and many references): presets, sizes, aspect ratios, reference and "
         "style images, the Images API (api: images, for quality, output_format, background). To edit or vary "
         "an existing picture give baseline_image; a local file is sent only with confirm_external_upload, so "
         "ask the user first. Saves each image with a .json sidecar. dry_run shows the exact request and the "
         "cost estimate and sends nothing; max_cost refuses a run whose estimate is higher (nothing sent). "
         "review: true has a vision model review each image and goes again until one is accepted (max_rounds, "
         "best_of; max_cost then covers the whole loop): path is the chosen image, rounds lists every round.",
         command_options.generate, GenerateRequest, ("generate.success", "generate.dry_run"),
         _hints(False, True, destructive=True), adapters.generate, preview=True),
    Tool("edit", "Edit an image",
         "Change an existing image. mode openrouter (default without a mask): describe the change and a model "
         "redraws the picture. mode openai (default with mask or mask_rects): only the masked area is repainted; "
         "mask_rects are X,Y,W,H in pixels or percentages, mask_invert keeps them instead, keep_unmasked puts "
         "the input's own pixels back outside the mask. The result names the edited image as parent. dry_run "
         "and max_cost as for generate.",
         command_options.edit, EditRequest, ("edit.success", "edit.dry_run"), _hints(False, True, destructive=True),
         adapters.edit, preview=True),
    Tool("review", "Review an image",
         "Judge an image against the prompt that made it (read from its sidecar when original_prompt is left "
         "out). Without auto nothing is sent: the result holds the rubric and the exact prompts for you to judge "
         "it yourself (inline_preview shows you the image). With auto a vision model scores it: verdict accept, "
         "refine (use suggested_refinement) or reject; compare names the better of two images.",
         command_options.review, ReviewRequest, ("review.manual", "review.auto", "review.compare", "review.dry_run"),
         _hints(False, True, destructive=True), adapters.review, preview=True),
    Tool("enqueue", "Queue an image job",
         "Queue one generation job for the background worker and return at once with its job id, target and "
         "cost estimate; nothing is sent now. Give a request_id (e.g. the chat message id), acknowledge the user, "
         "and come back later with queue_status for the finished files. Takes every generate argument; "
         "max_cost caps this job, request_max_cost every job of the request together (held on what is charged).",
         command_options.enqueue_image_job, GenerateRequest, ("enqueue_image_job.success",),
         _hints(False, False, True, True), adapters.enqueue),
    Tool("enqueue_variants", "Queue variants of one prompt",
         "Queue count variants of one prompt as <prefix>-NN.png in out_dir (each with a recorded, explicit "
         "difference) and write <prefix>-manifest.json; returns at once. The same request_id again returns the "
         "same jobs. request_max_cost caps all of them together, on what is actually charged (max_cost: each). "
         "Follow up with queue_status.",
         command_options.enqueue_variants, GenerateRequest, ("enqueue_variants.success",),
         _hints(False, False, True, True), adapters.enqueue_variants),
    Tool("queue_status", "Queue status",
         "A queue's job counts per state, or with request_id one request's jobs: state, attachments (the finished "
         "image files), failures with their error_kind, and cost; done says when every job has finished. wait "
         "blocks until then (at most timeout seconds, and never more than 600; a cancellation ends it).",
         command_options.queue_status, None, ("queue_status.success", "queue_status.request"), _hints(True, False),
         adapters.queue_status),
    Tool("models", "Image models",
         "The image models image-gen knows: aliases, full ids, capabilities (ratios, sizes, reference images, "
         "text rendering) and prices. alias resolves one name; refresh fetches OpenRouter's live catalogue first.",
         command_options.models, None, ("models.success", "models.alias"), _hints(True, True), adapters.models),
    Tool("spend", "Spending",
         "What the paid calls recorded in the spending ledger cost, by day, model and request id, and today's "
         "total against the daily budget. since and until take YYYY-MM-DD, today, yesterday or Nd.",
         command_options.spend, None, ("spend.success",), _hints(True, False), adapters.spend),
    Tool("preflight", "Preflight check",
         "Check that image-gen is ready here: keys, output and queue folders, presets, base URLs, the queue. "
         "Every failing check comes with fixups (commands for the user). online also confirms the OpenRouter key "
         "and its credit; fix creates missing folders and returns stranded queue jobs to pending.",
         command_options.preflight_check, None, ("preflight_check.success",), _hints(False, True), adapters.preflight,
         passed=adapters.preflight_passed),
)
BY_NAME = {tool.name: tool for tool in TOOLS}
