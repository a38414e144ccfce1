"""OpenAI's Batch API over ``/v1/images/generations`` (https://platform.openai.com/docs/guides/batch):
half the price, answered within 24 hours.

The requests go up as a JSON Lines file (``POST /files``, ``purpose=batch``; each line
``{"custom_id", "method": "POST", "url": "/v1/images/generations", "body"}``), then ``POST /batches``
starts the batch, our record's name in its ``metadata``. ``GET /batches/{id}`` reports ``status``
(validating, in_progress, finalizing, completed, failed, expired, cancelling, cancelled) and, when
done, ``output_file_id`` and ``error_file_id``: JSON Lines of ``{"custom_id", "response":
{"status_code", "body"}, "error"}``, in no promised order. Every id the provider sends is checked
before it goes into a URL.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from ..errors import ProviderError, provider_error
from ..http.multipart import FilePart
from ..jsonshape import dict_at, text_at
from ..models import direct_table
from . import openai_images
from .batch import (
    CANCELLED,
    CANCELLING,
    EXPIRED,
    FAILED,
    MAX_LIST_PAGES,
    MAX_RESULTS_BYTES,
    RUNNING,
    SUCCEEDED,
    BatchLine,
    BatchStatus,
    count,
    encode_lines,
    json_lines,
)
from .replies import image_list_reply, json_object

if TYPE_CHECKING:
    from pathlib import Path

    from ..http.client import HttpClient, Response

T = TypeVar("T")
ENDPOINT = "/v1/images/generations"
METADATA_KEY = "imagegen_batch"
BATCH_ID = re.compile(r"batch_[A-Za-z0-9_-]{1,128}")
FILE_ID = re.compile(r"file-[A-Za-z0-9_-]{1,128}")
STATES = {"validating": RUNNING, "in_progress": RUNNING, "finalizing": RUNNING, "completed": SUCCEEDED,
          "failed": FAILED, "expired": EXPIRED, "cancelling": CANCELLING, "cancelled": CANCELLED}


def _url(path: str) -> str:
    from .. import config

    return config.base_url("openai") + path


def _checked(value: Any, pattern: re.Pattern[str], what: str) -> str:
    if not isinstance(value, str) or not pattern.fullmatch(value):
        raise provider_error("provider_error", f"OpenAI sent a {what} id that is not one: {str(value)[:80]!r}",
                             retryable=False, charge_unknown=True)  # answered: the batch may exist all the same
    return value


def input_lines(items: list[tuple[str, dict[str, Any]]]) -> list[dict[str, Any]]:
    return [{"custom_id": key, "method": "POST", "url": ENDPOINT, "body": body} for key, body in items]


def create(client: HttpClient, model: str, name: str, items: list[tuple[str, dict[str, Any]]]) -> BatchStatus:
    """Upload the requests and start the batch, named ``name`` in its metadata."""
    form = (("purpose", "batch"),)
    data = encode_lines(input_lines(items))
    from ..http import multipart

    content_type, chunks, length = multipart.encode(list(form), [FilePart("file", f"{name}.jsonl",
                                                                          "application/jsonl", data)])
    uploaded = _document(client.post_multipart(_url("/files"), content_type, chunks, length, openai_images.headers()))
    file_id = _checked(uploaded.get("id"), FILE_ID, "file")
    body = {"input_file_id": file_id, "endpoint": ENDPOINT, "completion_window": "24h",
            "metadata": {METADATA_KEY: name, "model": model}}
    return read_status(_document(client.post_json(_url("/batches"), body, openai_images.headers())))


def get(client: HttpClient, batch_id: str, *, spool_dir: Path | None = None) -> tuple[BatchStatus, Response]:
    response = client.get(_url("/batches/" + _checked(batch_id, BATCH_ID, "batch")), openai_images.headers())
    return read_status(_document(response)), response


def find(client: HttpClient, name: str) -> BatchStatus | None:
    """The batch whose metadata names ``name``, if OpenAI has one (a submission whose answer was lost)."""
    after = ""
    for _ in range(MAX_LIST_PAGES):
        document = _document(client.get(_url("/batches?limit=100" + (f"&after={after}" if after else "")),
                                         openai_images.headers()))
        batches = [b for b in document.get("data") or [] if isinstance(b, dict)]
        for batch in batches:
            metadata = dict_at(batch, "metadata")
            if metadata.get(METADATA_KEY) == name:
                return read_status(batch)
        if document.get("has_more") is not True or not batches:
            return None
        after = _checked(batches[-1].get("id"), BATCH_ID, "batch")
    return None


def cancel(client: HttpClient, batch_id: str) -> None:
    client.post_json(_url(f"/batches/{_checked(batch_id, BATCH_ID, 'batch')}/cancel"), {}, openai_images.headers())


def read_status(batch: dict[str, Any]) -> BatchStatus:
    raw = str(batch.get("status") or "")
    counts = dict_at(batch, "request_counts")
    errors = dict_at(batch, "errors")
    first = next((e for e in errors.get("data") or [] if isinstance(e, dict)), None)
    error = None
    if first:
        line = f" (line {first['line']})" if isinstance(first.get("line"), int) else ""
        error = f"{first.get('code') or 'error'}: {str(first.get('message') or '')[:280]}{line}"
    return BatchStatus(id=_checked(batch.get("id"), BATCH_ID, "batch"), state=STATES.get(raw, RUNNING),
                       provider_state=raw or "(none)", total=count(counts.get("total")),
                       succeeded=count(counts.get("completed")), failed=count(counts.get("failed")), error=error,
                       document=batch)


def results(client: HttpClient, status: BatchStatus, response: Response, keys: list[str], model: str,
            price_each: float | None, spool_dir: Path) -> list[BatchLine]:
    """Each request's outcome from the output file and the error file, by ``custom_id``."""
    lines = []
    for field in ("output_file_id", "error_file_id"):
        file_id = status.document.get(field)
        if not file_id:
            continue
        content = client.get(_url(f"/files/{_checked(file_id, FILE_ID, 'file')}/content"), openai_images.headers(),
                             MAX_RESULTS_BYTES, spool_dir=spool_dir)
        lines += [_line(line, content.inline or {}, model) for line in json_lines(bytes(content.body))]
    return lines


def _line(line: dict[str, Any], inline: dict[str, Any], model: str) -> BatchLine:
    from . import errors

    key = text_at(line, "custom_id") or ""
    answer = line.get("response") if isinstance(line.get("response"), dict) else None
    error = line.get("error") if isinstance(line.get("error"), dict) else None
    if answer is None or error:
        found = error or {}
        code = str(found.get("code") or "batch_error")
        kind = "expired" if code == "batch_expired" else "provider_error"
        return BatchLine(key, error=provider_error(kind, f"OpenAI's batch did not run this request ({code}: "
                                                         f"{str(found.get('message') or '')[:200]})",
                                                   retryable=True, provider_message=found.get("message")))
    body = dict_at(answer, "body")
    status = count(answer.get("status_code")) or 0
    if status != 200 or isinstance(body.get("error"), dict):
        failure = dict_at(body, "error") or {"message": f"HTTP {status}"}
        base = provider_error(_kind_of(status), f"HTTP {status}", status=status)
        return BatchLine(key, error=errors.openai(failure, status, base=base))
    try:
        reply = image_list_reply(body, inline, status)
    except ProviderError as failure:
        return BatchLine(key, error=failure)
    reply.provider, reply.model = "OpenAI", reply.model or model
    cost = direct_table.batch_price(direct_table.openai_cost(model, reply.usage))
    if cost is not None:
        reply.usage = {**reply.usage, "cost": cost}
    return BatchLine(key, reply=reply)


def _kind_of(status: int) -> str:
    from ..http.statuses import classify_status

    return classify_status(status)


def refined(action: Callable[[], T]) -> T:
    """``action()``, a failed status read as OpenAI defines it (``error.code``)."""
    try:
        return action()
    except ProviderError as error:
        raise openai_images.refine(error) from None


def _document(response: Response) -> dict[str, Any]:
    return json_object(response, "OpenAI")
