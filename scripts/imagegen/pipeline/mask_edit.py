"""Mask edits (edit.py's openai mode): the checked plan, the drawn mask, and the paid call.

The form and the reply belong to ``providers.openai_images``; images are saved by
``pipeline.save``, so sidecars and results look like every other run's.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .. import config, validate
from ..errors import ImageGenError, UsageError
from ..images import files, masks, pixels, png
from ..images.files import InputImage
from ..images.writer import ImageWriter
from ..models import chains, direct_table, registry, table
from ..models.alternatives import with_fallbacks
from ..providers import openai_images
from ..requests import EditRequest
from .lineage import parent_record
from .outputs import releasing_outputs

if TYPE_CHECKING:
    from ..providers.call import Call
    from .paid_call import PaidRun

DEFAULT_MODEL = openai_images.DEFAULT_MODEL
MAX_IMAGES = 16
MAX_IMAGE_MB = 50
EDIT_FORMATS = ("png", "jpeg", "webp")
SIZES = validate.OPENAI_SIZES
FIDELITIES = ("high", "low")

@dataclass
class OpenAIEditPlan:
    """A checked OpenAI edit request; building it touches no network."""

    prompt: str
    model: str
    images: list[files.InputImage]
    mask: masks.Mask | None = None
    size: str | None = None
    quality: str | None = None
    count: int = 1
    output_format: str | None = None
    background: str | None = None
    input_fidelity: str | None = None
    output_compression: int | None = None
    keep_unmasked: bool = False
    markup: InputImage | None = None
    request_id: str | None = None
    warnings: list[str] = field(default_factory=list)
    # --keep-unmasked: the frame the input is sent in, and the image and mask as sent (None: as given)
    frame: pixels.Frame | None = None
    sent_image: InputImage | None = None
    sent_mask: masks.Mask | None = None

    @property
    def slug(self) -> str:
        return "".join(c if c.isalnum() else "-" for c in self.model.lower()).strip("-") + "-edit"

    @property
    def estimate_usd(self) -> float | None:
        size = self.size if self.size and self.size != "auto" else self._nearest_size()
        return direct_table.openai_estimate(self.model, self.quality, size, self.count)

    def compositor(self) -> Any:
        """With --keep-unmasked, what turns the provider's image into the one saved (None: saved as is)."""
        if not self.keep_unmasked or self.mask is None:
            return None
        original, mask, frame = self.images[0].data, self.mask.data, self.frame
        return lambda result: masks.keep_unmasked(original, result, mask, frame)

    def expected_size(self) -> tuple[int, int] | None:
        """With --keep-unmasked the input's size (the answer is brought back to it); else --openai-size,
        else (auto, or no size) the standard frame of the input's shape, which the model answers in."""
        if self.frame is not None:
            return self.frame.width, self.frame.height
        size = self.size if self.size and "x" in self.size else None
        first = self.images[0]
        if size is None and first.width and first.height:
            size = self._nearest_size()
        if size is None:
            return None
        width, height = size.split("x")
        return int(width), int(height)

    def estimate_basis(self) -> str:
        info = direct_table.openai_model(self.model)
        if info is None:
            return f"no price known for {self.model}"
        size = self.size if self.size and self.size != "auto" else self._nearest_size()
        return (f"about {direct_table.output_tokens(self.quality, size, self.model)} output tokens per {size} image at "
                f"${info.image_out:g}/M, from the built-in table of {direct_table.PRICES_AS_OF}: {info.price_source}")

    def _nearest_size(self) -> str:
        first = self.images[0]
        if not first.width or not first.height:
            return "1024x1024"
        ratio = first.width / first.height
        return "1536x1024" if ratio > 1.2 else "1024x1536" if ratio < 1 / 1.2 else "1024x1024"

    def call(self) -> Call:
        inputs = [self.sent_image, *self.images[1:]] if self.sent_image is not None else self.images
        fields, parts = openai_images.form(
            self.prompt, self.model, inputs, self.sent_mask or self.mask, size=self.size, quality=self.quality,
            n=self.count,
            output_format=self.output_format, background=self.background, input_fidelity=self.input_fidelity,
            markup=self.markup, output_compression=self.output_compression)
        return openai_images.edit_call(fields, parts, self.model)

    def request_record(self) -> dict[str, Any]:
        return {
            "mode": "openai",
            "prompt": self.prompt,
            "model": self.model,
            "size": self.size,
            "quality": self.quality,
            "n": self.count,
            "output_format": self.output_format,
            "background": self.background,
            "input_fidelity": self.input_fidelity,
            "output_compression": self.output_compression,
            "input_images": [{"path": str(i.path), "sha256": i.sha256, "format": i.format} for i in self.images],
            "mask": self.mask.record() if self.mask else None,
            "keep_unmasked": self.keep_unmasked,
            "markup": {"path": str(self.markup.path), "sha256": self.markup.sha256} if self.markup else None,
            "parent": parent_record(self.images[0]),
            **self._request_id(),
        }

    def _request_id(self) -> dict[str, Any]:
        return {"request_id": self.request_id} if self.request_id else {}

    def summary(self) -> dict[str, Any]:
        estimate = self.estimate_usd
        return {
            "mode": "openai",
            "model": self.model,
            "prompt": self.prompt,
            "size": self.size,
            "quality": self.quality,
            "output_format": self.output_format,
            "background": self.background,
            "input_fidelity": self.input_fidelity,
            "output_compression": self.output_compression,
            "input_images": [str(i.path) for i in self.images],
            "parent": parent_record(self.images[0]),
            "mask_path": str(self.mask.path) if self.mask and self.mask.path else None,
            "mask": self.mask.record() if self.mask else None,
            "keep_unmasked": self.keep_unmasked,
            **({"sent_as": self._sent_as()} if self.frame is not None else {}),
            "markup": {"path": str(self.markup.path), "sha256": self.markup.sha256} if self.markup else None,
            "cost_estimate": registry.format_estimate(estimate),
            "cost_estimate_usd": estimate,
            "cost_estimate_is_guess": True,
            "cost_estimate_basis": self.estimate_basis(),
            **self._request_id(),
        }


    def _sent_as(self) -> dict[str, Any]:
        """How the input was framed for the model (--keep-unmasked): padded to the frame's shape, then scaled."""
        frame = self.frame
        assert frame is not None
        return {"width": frame.frame_width, "height": frame.frame_height,
                "padding": [frame.left, frame.top, frame.padded_width - frame.width - frame.left,
                            frame.padded_height - frame.height - frame.top]}


def plan_from_request(request: EditRequest) -> OpenAIEditPlan:
    """Load and check the images and the mask before anything is uploaded."""
    prompt = request.prompt.strip()
    if not prompt:
        raise UsageError("--prompt is empty", details="describe what should appear in the masked area")
    if len(request.input_images) > MAX_IMAGES:
        raise UsageError(f"{len(request.input_images)} input images given; OpenAI edits take at most {MAX_IMAGES}")
    if request.background == "transparent" and request.output_format == "jpeg":
        raise UsageError("--background transparent cannot be saved as JPEG", details="use --output-format png or webp")
    if request.moderation is not None:
        raise UsageError("moderation applies to OpenAI's generations, not its edits",
                         details="drop it (openai-python's image_edit_params.py has no moderation)")
    from .routes import check_openai_options

    check_openai_options(request, "openai")
    model = request.openai_model or config.default_model("openai_edit", DEFAULT_MODEL)
    notes: list[str] = []
    moved = chains.moved(model, "openai")
    if moved is not None:  # a model OpenAI has shut down is never sent: its successor is
        model, warning = moved
        notes.append(warning)
    try:
        return _checked_plan(request, prompt, model, notes)
    except ImageGenError as error:  # an option the model does not take: name the ones that do
        raise with_fallbacks(error, "openai", model, role="edit") from None


def _checked_plan(request: EditRequest, prompt: str, model: str, notes: list[str]) -> OpenAIEditPlan:
    """The plan for ``model``, once the images, the mask and the options it takes are checked."""
    _check_model(model, request)
    inputs = [files.load_input_image(p, allowed=EDIT_FORMATS, max_mb=MAX_IMAGE_MB) for p in request.input_images]
    plan = OpenAIEditPlan(prompt=prompt, model=model, images=inputs,
                          size=frame_from_request(request, model, inputs[0]) or request.openai_size,
                          quality=request.quality, count=request.n,
                          output_format=request.output_format, background=request.background,
                          input_fidelity=request.input_fidelity, output_compression=request.output_compression,
                          keep_unmasked=request.keep_unmasked,
                          request_id=request.request_id, warnings=notes)
    plan.mask = _mask_from_request(request, inputs[0], plan.warnings)
    if plan.mask is not None:
        masks.check_coverage(plan.mask, keep_unmasked=request.keep_unmasked)
        if request.keep_unmasked:
            _frame_for_keep_unmasked(plan, plan.mask)
    if request.markup:
        plan.markup = files.load_input_image(request.markup, role="markup", allowed=("png",), max_mb=MAX_IMAGE_MB,
                                              flag="--markup")
    return plan


def _frame_for_keep_unmasked(plan: OpenAIEditPlan, mask: masks.Mask) -> None:
    """Send the input in a frame the model answers at (--openai-size, else the gpt-image frame of its
    shape), padded and scaled to it, so the answer can be brought back to the input's exact size."""
    first = plan.images[0]
    try:
        width, height, rows = png.decode_rgba(first.data)
    except png.PngError as error:
        raise UsageError(f"--keep-unmasked cannot read the pixels of {first.path.name} ({error})",
                         details="save it as an 8-bit PNG that is not interlaced, or drop --keep-unmasked") from None
    size = plan.size if plan.size and plan.size != "auto" else _frame_of_shape(plan.model, width, height)
    frame_width, frame_height = (int(side) for side in size.split("x"))
    plan.size, plan.frame = size, pixels.frame_for(width, height, frame_width, frame_height)
    if plan.frame.changed:
        data = png.encode_rgba(frame_width, frame_height, pixels.into_frame(plan.frame, rows))
        plan.sent_image = InputImage(first.path, data, "png", frame_width, frame_height,
                                            hashlib.sha256(data).hexdigest())
        plan.sent_mask = masks.sent_mask(mask, plan.frame)


def _frame_of_shape(model: str, width: int, height: int) -> str:
    """The frame nearest ``width`` x ``height`` that ``model`` makes: gpt-image-2's of that shape at 1K
    (the least padding), else the classic frame of the nearest shape."""
    from ..models import frames

    if direct_table.flexible(model):
        try:
            return frames.flexible_frame(f"{width}:{height}", "1K")
        except ValueError:  # wider than 3:1: padded into a classic frame instead
            pass
    return frames.frame_for(f"{width}:{height}")


def _check_model(model: str, request: EditRequest) -> None:
    """Refuse, before paying, an option the model does not take."""
    info = direct_table.openai_model(model)
    if request.markup:
        if request.mask or request.mask_rects:
            raise UsageError("--markup cannot be combined with a mask", details="give --markup or a mask, not both")
        if info is None or not info.markup:
            takers = [name for name, entry in direct_table.OPENAI_MODELS.items() if entry.markup]
            raise UsageError(f"{model} does not take --markup", details="use --openai-model " + " or ".join(takers),
                             kind="unsupported", extra={"fallback_models": takers})
    _check_size(model, request.openai_size)
    if request.input_fidelity and info is not None and not info.input_fidelity:
        takers = [name for name, entry in direct_table.OPENAI_MODELS.items() if entry.input_fidelity]
        raise UsageError(f"{model} does not take --input-fidelity",
                         details="drop it, or use a model that does: " + ", ".join(takers), kind="unsupported",
                         extra={"fallback_models": takers})


def frame_from_request(request: EditRequest, model: str, image: files.InputImage) -> str | None:
    """The gpt-image-2 frame --size and --aspect-ratio ask for (the ratio defaults to the input's nearest),
    or None when neither is given."""
    if request.size is None and request.aspect_ratio is None:
        return None
    from ..models import frames
    from ..prompt.baseline import nearest_ratio

    if request.openai_size:
        raise UsageError("--openai-size cannot be combined with --size or --aspect-ratio",
                         details="give the frame with --openai-size WIDTHxHEIGHT, or a tier and ratio")
    if not direct_table.flexible(model):
        raise UsageError(f"{model} makes three frames; --size and --aspect-ratio choose gpt-image-2's",
                         details="use --openai-size " + " or ".join(frames.CLASSIC), kind="unsupported")
    ratio = request.aspect_ratio
    if ratio is None:
        ratio = nearest_ratio(image.width, image.height, table.STANDARD_RATIOS) if image.width and image.height \
            else "1:1"
    try:
        return frames.flexible_frame(ratio, request.size or "1K")
    except ValueError as error:
        raise UsageError(f"{model} cannot make --aspect-ratio {ratio} at --size {request.size or '1K'}: {error}",
                         details="choose another ratio or size", kind="unsupported") from None


def _check_size(model: str, size: str | None) -> None:
    """--openai-size against the model's rules: gpt-image-2 takes any frame within them (``models.frames``);
    the models that make three frames take those or auto (a model the table does not know: anything)."""
    from ..models import frames

    if size is None or size == "auto" or direct_table.openai_model(model) is None:
        return
    if not direct_table.flexible(model):
        if size not in frames.CLASSIC:
            raise UsageError(f"{model} makes {', '.join(frames.CLASSIC)} or auto, not --openai-size {size}",
                             details="choose one of those, or --openai-model gpt-image-2 for any frame",
                             kind="unsupported")
        return
    width, height = frames.parse(size) or (0, 0)
    reason = frames.problem(width, height)
    if reason:
        raise UsageError(f"--openai-size {size} is not a size {model} makes: {reason}",
                         details="e.g. 2048x1152 (16:9 at 2K) or 3840x2160; the rules: both sides multiples of 16, "
                                 "long side at most 3840 and 3 times the short one, 655,360 to 8,294,400 pixels",
                         kind="unsupported")


def _mask_from_request(request: EditRequest, image: files.InputImage, warnings: list[str]) -> masks.Mask | None:
    if request.mask and request.mask_rects:
        raise UsageError("--mask and --mask-rect cannot be combined",
                         details="give a mask file or rectangles, not both")
    if request.keep_unmasked and not (request.mask or request.mask_rects):
        raise UsageError("--keep-unmasked needs a mask", details="give --mask FILE or --mask-rect X,Y,W,H")
    if request.keep_unmasked and image.format != "png":
        raise UsageError(f"--keep-unmasked needs a PNG input; {image.path.name} is {image.format.upper()}",
                         details="convert the input to PNG first, or drop --keep-unmasked")
    if request.mask_invert and not request.mask_rects:
        raise UsageError("--mask-invert needs --mask-rect",
                         details="it keeps the rectangles and edits the rest; invert a mask file in an image editor")
    if request.mask:
        loaded = files.load_input_image(request.mask, role="mask", max_mb=MAX_IMAGE_MB, flag="--mask")
        if image.width is None:
            warnings.append(f"could not read the size of {image.path.name}; the mask size was not checked")
        return masks.check_mask(loaded, image)
    if request.mask_rects:
        if not image.width or not image.height:
            raise UsageError(f"could not read the size of {image.path}, so --mask-rect cannot be drawn",
                             details="convert the image to PNG, or give a mask file with --mask", kind="mask")
        return masks.draw_mask(image.width, image.height, list(request.mask_rects), invert=request.mask_invert)
    return None


def write_generated_mask(plan: OpenAIEditPlan, writer: ImageWriter) -> str | None:
    """Save a drawn mask beside the planned output (after checking the folder); its path, or None."""
    if plan.mask is None or not plan.mask.generated:
        return None
    writer.check_before_request()
    return str(masks.save_beside(plan.mask, writer.planned_name(0)))


def dry_run(plan: OpenAIEditPlan, writer: ImageWriter, paid: PaidRun) -> dict[str, Any]:
    budget = paid.authorize(plan.estimate_usd, model=plan.model, count=plan.count)
    ext = files.EXTENSIONS.get(plan.output_format or "png", ".png")
    planned_mask = None
    if plan.mask is not None and plan.mask.generated:
        planned_mask = str(masks.name_beside(writer.planned_name(0)))
    return {
        "dry_run": True,
        "request": plan.call().display(),
        "target_paths": [str(writer.planned_name(i, ext)) for i in range(plan.count)],
        **plan.summary(),
        "mask_path": planned_mask or (str(plan.mask.path) if plan.mask and plan.mask.path else None),
        "warnings": plan.warnings,
        "budget": budget,
    }


@releasing_outputs
def run(plan: OpenAIEditPlan, writer: ImageWriter, paid: PaidRun, *, on_mask: Any = None) -> dict[str, Any]:
    """Check the output and the budget, save a drawn mask, upload the form once (n images) and save them.

    ``on_mask`` is told the saved mask's path (so a failure after it still names it).
    """
    from .paid_call import timed
    from .save import save_replies

    paid.prepare_output(writer)
    paid.authorize(plan.estimate_usd, model=plan.model, count=plan.count)
    mask_path = write_generated_mask(plan, writer)  # after the checks: a refused run leaves no mask behind
    if on_mask is not None:
        on_mask(mask_path)
    try:
        reply, elapsed_ms = timed(lambda: paid.send(plan.call(), model=plan.model, estimate=plan.estimate_usd,
                                                    label=f"waiting for {plan.model}", spool_dir=writer.target_dir()))
    except ImageGenError as error:
        raise with_fallbacks(error, "openai", plan.model, role="edit") from None
    result = save_replies(plan, [reply], paid.client(), writer, elapsed_ms, transform=plan.compositor())
    if reply.cost_usd is not None:
        result["cost_usd_basis"] = "token usage at OpenAI list prices"
    result["warnings"] += paid.warnings
    return result
