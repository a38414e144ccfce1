"""A tool result from the document a script would print.

``structuredContent`` is the document itself; the content blocks are a short summary for a model
to read, a ``resource_link`` to each saved image (its file URI and MIME type, never its bytes) and,
when the call asked for ``inline_preview``, a small image block per image. A client on a revision
older than structured output (2025-06-18) gets the document as JSON text instead.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..contract import json_text
from .preview import mime_type, preview
from .protocol import STRUCTURED_SINCE, at_least


def _money(value: Any) -> str:
    return f"${value:.4f}" if isinstance(value, (int, float)) else "unknown"


def _error_summary(document: dict[str, Any]) -> str:
    text = f"Failed ({document.get('error_kind')}"
    text += ", retryable): " if document.get("retryable") else "): "
    text += str(document.get("error"))
    if document.get("details"):
        text += f" Fix: {document['details']}"
    if document.get("charge_unknown"):
        text += " The call may have been billed (charge_unknown)."
    if document.get("saved_paths"):
        text += " Saved before the failure: " + ", ".join(document["saved_paths"])
    return text


def _success_summary(document: dict[str, Any]) -> str:
    if document.get("dry_run"):
        targets = document.get("target_paths") or []
        return (f"Dry run, nothing sent: {len(targets) or 'the'} image(s) on {document.get('model')}, estimate "
                f"{document.get('cost_estimate') or _money(document.get('cost_estimate_usd'))}.")
    if document.get("all_paths"):
        cost = document.get("cost_usd")
        cost_text = _money(cost) if cost is not None else f"not reported (estimate {document.get('cost_estimate')})"
        return (f"Saved {len(document['all_paths'])} image(s) with {document.get('model')}: "
                f"{', '.join(document['all_paths'])}. Cost {cost_text}.")
    if document.get("mode") == "manual":
        return "Nothing was sent: judge the image yourself, following `system_prompt` and `user_message`."
    if "verdict" in document:
        return f"Verdict {document['verdict']}, score {document.get('score')}/10: {document.get('critique')}"
    if "winner" in document:
        return f"The better image: {document['winner']}."
    if document.get("status") == "queued":
        return (f"Queued {len(document.get('job_ids') or [])} job(s) for request {document.get('request_id')} "
                f"(estimate {_money(document.get('cost_estimate_usd'))}); nothing was sent yet. Come back with "
                f"queue_status and request_id {document.get('request_id')}.")
    if "done" in document and "attachments" in document:
        return (f"Request {document.get('request_id')}: {'done' if document['done'] else 'not done yet'}, "
                f"{len(document['attachments'])} file(s), {len(document.get('failures') or [])} failure(s), "
                f"cost {_money(document.get('cost_usd'))}.")
    if "counts" in document:
        counts = ", ".join(f"{n} {state}" for state, n in document["counts"].items())
        return f"Queue {document.get('queue_dir')}: {counts}"
    if "by_day" in document:
        return f"{document.get('calls')} paid call(s), cost {_money(document.get('cost_usd'))}."
    if isinstance(document.get("models"), list):
        return f"{len(document['models'])} models; the default is {document.get('default_model')}."
    if isinstance(document.get("model"), dict):
        return f"{document['model'].get('alias')} is {document['model'].get('id')}."
    if "required_failures" in document:
        return "Ready: every required check passes."
    return "Done; the result is in structuredContent."


def summary(document: dict[str, Any]) -> str:
    if "error_kind" in document:
        return _error_summary(document)
    if not document.get("success") and "required_failures" in document:
        failed = document["required_failures"]
        names = ", ".join(map(str, failed)) if isinstance(failed, list) else str(failed)
        return f"Not ready, required checks failed: {names}; `fixups` says how to fix them."
    text = _success_summary(document)
    warnings = document.get("warnings") or []
    if warnings:
        text += " Warnings: " + "; ".join(map(str, warnings[:3]))
    return text


def image_paths(document: dict[str, Any]) -> list[Path]:
    """The image files a result names: what it saved, reviewed, or a queued request finished."""
    found = (document.get("all_paths") or document.get("saved_paths") or document.get("images")
             or document.get("attachments"))
    if not found and isinstance(document.get("image"), str):
        found = [document["image"]]
    return [Path(path) for path in found or [] if isinstance(path, str)]


def resource_link(path: Path) -> dict[str, Any]:
    link: dict[str, Any] = {"type": "resource_link", "uri": path.absolute().as_uri(), "name": path.name,
                            "mimeType": mime_type(path)}
    try:
        link["size"] = path.stat().st_size
    except OSError:
        pass
    return link


def tool_result(document: dict[str, Any], version: str, *, inline_preview: bool = False,
                may_read: Callable[[Path], bool] | None = None) -> dict[str, Any]:
    """The result of a call; with ``inline_preview``, an image block for each image file ``may_read`` allows
    (the server's roots: a path in a result can come from a queue's records, which anyone may plant)."""
    import base64

    structured = at_least(version, STRUCTURED_SINCE)
    text = summary(document)
    blocks: list[dict[str, Any]] = []
    paths = image_paths(document)
    if structured:
        blocks += [resource_link(path) for path in paths]
    else:
        blocks.append({"type": "text", "text": json_text(document, indent=None)})
    for path in paths if inline_preview else ():
        small = preview(path) if may_read is None or may_read(path) else \
            f"no preview of {path.name}: outside the folders this server may read"
        if isinstance(small, str):
            text += " " + small + "."
        else:
            blocks.append({"type": "image", "data": base64.b64encode(small.data).decode("ascii"),
                           "mimeType": small.mime_type})
    result: dict[str, Any] = {"content": [{"type": "text", "text": text}, *blocks],
                              "isError": not document.get("success")}
    if structured:
        result["structuredContent"] = document
    return result
