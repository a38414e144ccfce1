"""Saving what a paid call brought back: every image through the one writer, with its sidecar,
and the result document every image-making script prints (the same whichever API made it)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, Protocol

from .. import __version__
from ..errors import ImageGenError, ProviderError
from ..fsutil import now_iso
from ..http.b64stream import omit_images

if TYPE_CHECKING:
    from ..http.client import HttpClient
    from ..images.writer import ImageWriter, SavedImage
    from ..providers.replies import ProviderReply


class SavablePlan(Protocol):
    """What save_replies needs of a plan: a GenerationPlan, or another request (the OpenAI edit plan)."""

    warnings: list[str]
    count: int  # images asked for: what a reply brings beyond them is saved as extra images

    def request_record(self) -> dict[str, Any]: ...

    def summary(self) -> dict[str, Any]: ...

    def expected_size(self) -> tuple[int, int] | None:
        """About what width and height were asked for (None: the request does not say)."""


MAX_EXTRA_PER_CALL = 10  # a reply cannot fill a folder: more than this beyond what was asked is dropped
RATIO_TOLERANCE = 0.03  # providers round sizes to multiples of 8, 16 or 64
SMALLER_THAN_ASKED = 0.5  # a long side under half the asked one is another size tier, not rounding


def shape_warning(expected: tuple[int, int] | None, width: int | None, height: int | None) -> str | None:
    """A warning when the image's shape or size differs from what was asked beyond rounding."""
    import math

    if not expected or not width or not height:
        return None
    want_w, want_h = expected
    problems = []
    if abs(math.log((width / height) / (want_w / want_h))) > RATIO_TOLERANCE:
        problems.append("its aspect ratio differs")
    if max(width, height) < SMALLER_THAN_ASKED * max(want_w, want_h):
        problems.append("it is smaller than asked")
    if not problems:
        return None
    return (f"asked for about {want_w}x{want_h} but the provider returned {width}x{height}: "
            + " and ".join(problems) + " (check the model's supported sizes, or ask again)")


Transform = Callable[[bytes], bytes]


def save_replies(plan: SavablePlan, replies: list[ProviderReply], client: HttpClient, writer: ImageWriter,
                 elapsed_ms: int, *, keep_response: bool = False, transform: Transform | None = None) -> dict[str, Any]:
    """Save the images of ``replies`` and build the result (paths, the plan's summary, cost, warnings).

    The first ``plan.count`` images are the ones asked for (``all_paths``). Images beyond them were
    paid for too: up to :data:`MAX_EXTRA_PER_CALL` of each reply are saved under the run's next
    free names (never over a file) and listed in ``extra_paths``, with a warning of what they cost.

    ``keep_response`` adds ``provider_response``: each reply's JSON, one per call, with every inline
    image replaced by its size and sha256 (``inline.omit_images``), for callers that keep records.
    ``transform`` turns each image's bytes into the bytes to save (it holds the image in memory);
    a ``ValueError`` from it keeps the provider's image and becomes a warning.
    """
    saved: list[SavedImage] = []
    broken: list[ProviderError] = []
    texts: list[str] = []
    documents: list[Any] = []
    extras: list[SavedImage] = []
    dropped = 0
    extra_cost = 0.0
    extra_cost_known = True
    notes: list[str] = []
    costs = [r.cost_usd for r in replies if r.cost_usd is not None]
    for reply in replies:
        if reply.text:
            texts.append(reply.text)
        written: dict[str, tuple[int, str]] = {}
        extra_here = 0
        for source in reply.images:
            extra = len(saved) >= plan.count  # a broken image does not use up a place
            if extra:
                extra_here += 1
                if extra_here > MAX_EXTRA_PER_CALL:
                    dropped += 1
                    source.close()
                    continue
                if reply.cost_usd is not None and reply.images:
                    extra_cost += reply.cost_usd / len(reply.images)  # the call's price shared by its images
                else:
                    extra_cost_known = False
            metadata = {
                "image_gen_version": __version__,
                "created": now_iso(),
                "request": plan.request_record(),
                "result": {"generation_id": reply.generation_id, "provider": reply.provider,
                           "model": reply.model, "cost_usd": reply.cost_usd, "generation_time_ms": elapsed_ms},
            }
            try:
                chunks = source.chunks(client)
                if transform is not None:
                    chunks, note = _transformed(b"".join(chunks), transform)
                    if note and note not in notes:
                        notes.append(note)
                image = writer.save(chunks, len(saved) + len(extras), metadata, extra=extra)
            except ImageGenError as error:
                # The call was answered (and maybe billed): say which generation the failure belongs to,
                # and which images of this run are already on disk.
                error.extra.setdefault("generation_id", reply.generation_id)
                error.extra.setdefault("cost_usd", reply.cost_usd)
                if saved:
                    error.extra.setdefault("saved_paths", [str(s.path.resolve()) for s in saved])
                if not isinstance(error, ProviderError):
                    raise  # the disk failed: the next image would fail the same way
                broken.append(error)  # this image is broken; the others may still be good
                continue
            finally:
                source.close()
            (extras if extra else saved).append(image)
            if source.inline is not None:
                written[source.inline.placeholder] = (image.bytes, image.sha256)
        if keep_response:
            documents.append(omit_images(reply.document, written))
    if not saved:
        raise broken[0]
    first = saved[0]
    warnings = list(plan.warnings)
    warnings += [f"an image of this run could not be saved: {e.kind}: {e.message}" for e in broken]
    if extras:
        cost = f"about ${extra_cost:.4f}" if extra_cost_known else "a cost the provider did not report"
        warnings.append(f"the provider returned {len(extras) + dropped} more image(s) than the {plan.count} asked "
                        f"for, billed at {cost}; {len(extras)} saved beside the others (extra_paths)"
                        + (f", {dropped} beyond {MAX_EXTRA_PER_CALL} a call dropped" if dropped else ""))
    warnings += notes
    expected = plan.expected_size()
    for image in saved + extras:
        warnings += image.warnings
        if image.format == "svg":
            continue  # a vector image's width and height are nominal: it has any size asked of it
        mismatch = shape_warning(expected, image.width, image.height)
        if mismatch and mismatch not in warnings:
            warnings.append(mismatch)
    result = {
        "path": str(first.path.resolve()),
        "all_paths": [str(s.path.resolve()) for s in saved],
        **plan.summary(),
        "cost_usd": round(sum(costs), 6) if costs else None,
        "generation_time_ms": elapsed_ms,
        "image_count": len(saved),
        "generation_id": replies[0].generation_id,
        "served_model": replies[0].model,  # the model the provider says made the image (None when it does not say)
        "provider": replies[0].provider,
        "format": first.format,
        "width": first.width,
        "height": first.height,
        "sidecar": str(first.sidecar.resolve()) if first.sidecar else None,
        # C2PA credentials from the provider: such a file is saved byte for byte (provenance in the sidecar)
        "content_credentials": any(image.content_credentials for image in saved),
        "text_response": "\n\n".join(texts) or None,
        "warnings": warnings,
    }
    if extras:
        result["extra_paths"] = [str(image.path.resolve()) for image in extras]
    blank = [str(image.path.resolve()) for image in saved + extras if image.blank]
    if blank:
        result["blank_paths"] = blank  # each also has a "looks blank" warning
    if keep_response:
        result["provider_response"] = documents
    return result


def _transformed(data: bytes, transform: Transform) -> tuple[Iterator[bytes], str | None]:
    """The bytes to save: ``transform(data)``, or the provider's own with the reason it could not apply."""
    try:
        return iter([transform(data)]), None
    except ValueError as error:
        return iter([data]), str(error)
