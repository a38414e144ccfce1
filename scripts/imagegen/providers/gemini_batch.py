"""Gemini Batch Mode (https://ai.google.dev/gemini-api/docs/batch-api): many generateContent
requests in one job, at half the price, answered within 48 hours.

``POST {base}/models/{model}:batchGenerateContent`` takes the requests inline (under 20 MB in all)
or as a JSON Lines file uploaded through the Files API first; the reply, and ``GET {base}/batches/{id}``
later, is an Operation whose ``metadata.state`` says where the batch is (``BATCH_STATE_*``, or
``JOB_STATE_*`` as some documents write it) and whose ``response`` holds the results when done:
``inlinedResponses.inlinedResponses[]`` (in input order, ``metadata.key`` not always echoed) or a
``responsesFile`` to download. Every id the provider sends is checked before it goes into a URL.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit

from ..errors import ProviderError, provider_error
from ..jsonshape import dict_at
from . import gemini
from .batch import (
    CANCELLED,
    CANCELLING,
    EXPIRED,
    FAILED,
    MAX_ANSWER_BYTES,
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
from .replies import json_object

if TYPE_CHECKING:
    from pathlib import Path

    from ..http.client import HttpClient, Response

T = TypeVar("T")
INLINE_LIMIT = 19 * 1024 * 1024  # Gemini takes inline requests under 20 MB in all; larger batches go as a file
BATCH_NAME = re.compile(r"batches/[A-Za-z0-9_-]{1,128}")
FILE_NAME = re.compile(r"files/[A-Za-z0-9_.-]{1,128}")
STATES = {"PENDING": RUNNING, "QUEUED": RUNNING, "RUNNING": RUNNING, "UPDATING": RUNNING, "PAUSED": RUNNING,
          "SUCCEEDED": SUCCEEDED, "PARTIALLY_SUCCEEDED": SUCCEEDED, "FAILED": FAILED, "CANCELLED": CANCELLED,
          "CANCELLING": CANCELLING, "EXPIRED": EXPIRED}


def _origin_and_path() -> tuple[str, str]:
    parts = urlsplit(gemini.base_url())
    return f"{parts.scheme}://{parts.netloc}", parts.path.rstrip("/")


def upload_url() -> str:
    origin, path = _origin_and_path()
    return f"{origin}/upload{path}/files"


def download_url(file_name: str) -> str:
    origin, path = _origin_and_path()
    return f"{origin}/download{path}/{_checked(file_name, FILE_NAME, 'results file')}:download?alt=media"


def _checked(value: Any, pattern: re.Pattern[str], what: str) -> str:
    if not isinstance(value, str) or not pattern.fullmatch(value):
        raise provider_error("provider_error", f"Google sent a {what} name that is not one: {str(value)[:80]!r}",
                             retryable=False, charge_unknown=True)  # answered: the batch may exist all the same
    return value


def request_lines(items: list[tuple[str, dict[str, Any]]]) -> list[dict[str, Any]]:
    """The batch's requests, each with our key (the job id) in ``metadata.key``."""
    return [{"request": body, "metadata": {"key": key}} for key, body in items]


def create_body(name: str, items: list[tuple[str, dict[str, Any]]], file_name: str | None = None) -> dict[str, Any]:
    config: dict[str, Any] = {"fileName": file_name} if file_name else {"requests": {"requests": request_lines(items)}}
    return {"batch": {"displayName": name, "inputConfig": config}}


def create(client: HttpClient, model: str, name: str, items: list[tuple[str, dict[str, Any]]]) -> BatchStatus:
    """Submit the batch (inline when it fits, else through an uploaded file), named ``name``."""
    body = create_body(name, items)
    if len(json.dumps(body)) > INLINE_LIMIT:
        body = create_body(name, items, upload(client, name, items))
    response = client.post_json(f"{gemini.base_url()}/{gemini.model_path(model)}:batchGenerateContent", body,
                                gemini.headers())
    return read_status(_document(response))


def upload(client: HttpClient, name: str, items: list[tuple[str, dict[str, Any]]]) -> str:
    """Upload the requests as JSON Lines (``{"key", "request"}``) by the Files API's resumable
    protocol; the file's name (``files/...``)."""
    data = encode_lines([{"key": key, "request": body} for key, body in items])
    start = client.post_json(upload_url(), {"file": {"displayName": name}}, {
        **gemini.headers(), "X-Goog-Upload-Protocol": "resumable", "X-Goog-Upload-Command": "start",
        "X-Goog-Upload-Header-Content-Length": str(len(data)),
        "X-Goog-Upload-Header-Content-Type": "application/jsonl"})
    session = _header(start, "x-goog-upload-url")
    origin, _ = _origin_and_path()
    if not session or not session.startswith(origin + "/"):
        raise provider_error("provider_error", "Google's upload answer named no upload address on its own host",
                             retryable=True)
    finished = client.post_bytes(session, data, {"Content-Type": "application/jsonl", "X-Goog-Upload-Offset": "0",
                                                 "X-Goog-Upload-Command": "upload, finalize"})
    document = _document(finished)
    file = dict_at(document, "file") or document
    return _checked(file.get("name"), FILE_NAME, "file")


def get(client: HttpClient, batch_id: str, *, spool_dir: Path | None = None) -> tuple[BatchStatus, Response]:
    """The batch now; with ``spool_dir`` the images of inline results are spooled out for :func:`results`."""
    url = f"{gemini.base_url()}/{_checked(batch_id, BATCH_NAME, 'batch')}"
    response = client.get(url, gemini.headers(), MAX_RESULTS_BYTES if spool_dir else MAX_ANSWER_BYTES,
                          spool_dir=spool_dir)
    return read_status(_document(response)), response


def find(client: HttpClient, name: str) -> BatchStatus | None:
    """The batch whose ``displayName`` is ``name``, if the provider has one (a submission whose answer was lost)."""
    token = ""
    for _ in range(MAX_LIST_PAGES):
        query = "?pageSize=100" + (f"&pageToken={token}" if token else "")
        document = _document(client.get(f"{gemini.base_url()}/batches{query}", gemini.headers()))
        for operation in document.get("operations") or document.get("batches") or []:
            if isinstance(operation, dict) and _metadata(operation).get("displayName") == name:
                return read_status(operation)
        following = document.get("nextPageToken")
        if not isinstance(following, str) or not re.fullmatch(r"[A-Za-z0-9_=-]{1,512}", following):
            return None
        token = following
    return None


def cancel(client: HttpClient, batch_id: str) -> None:
    client.post_json(f"{gemini.base_url()}/{_checked(batch_id, BATCH_NAME, 'batch')}:cancel", {}, gemini.headers())


def _metadata(operation: dict[str, Any]) -> dict[str, Any]:
    metadata = operation.get("metadata")
    return metadata if isinstance(metadata, dict) else {}


def read_status(operation: dict[str, Any]) -> BatchStatus:
    """An Operation (or a bare batch) in our words."""
    metadata = _metadata(operation) or operation
    raw = str(metadata.get("state") or "")
    state = STATES.get(raw.removeprefix("BATCH_STATE_").removeprefix("JOB_STATE_"), RUNNING)
    error = operation.get("error") if isinstance(operation.get("error"), dict) else None
    if operation.get("done") is True and state == RUNNING:
        state = FAILED if error else SUCCEEDED
    stats = dict_at(metadata, "batchStats")
    name = operation.get("name") if isinstance(operation.get("name"), str) else metadata.get("name")
    return BatchStatus(id=_checked(name, BATCH_NAME, "batch"), state=state, provider_state=raw or "(none)",
                       total=count(stats.get("requestCount")), succeeded=count(stats.get("successfulRequestCount")),
                       failed=count(stats.get("failedRequestCount")),
                       error=str(error.get("message"))[:300] if error else None, document=operation)


def results(client: HttpClient, status: BatchStatus, response: Response, keys: list[str], model: str,
            price_each: float | None, spool_dir: Path) -> list[BatchLine]:
    """Each request's outcome, by key: inline results (keys by position where not echoed), or the
    downloaded results file."""
    operation = status.document
    output = dict_at(operation, "response") or dict_at(_metadata(operation), "output")
    inline = response.inline or {}
    inlined = output.get("inlinedResponses")
    if isinstance(inlined, dict):
        inlined = inlined.get("inlinedResponses")
    if isinstance(inlined, list):
        lines = [line for line in inlined if isinstance(line, dict)]
        return [_line(line, keys[i] if i < len(keys) else "", inline, model, price_each) for i, line in
                enumerate(lines)]
    file_name = output.get("responsesFile")
    if file_name is None:
        return []
    download = client.get(download_url(file_name), gemini.headers(), MAX_RESULTS_BYTES, spool_dir=spool_dir)
    return [_line(line, "", download.inline or {}, model, price_each)
            for line in json_lines(bytes(download.body))]


def _line(line: dict[str, Any], fallback_key: str, inline: dict[str, Any], model: str,
          price_each: float | None) -> BatchLine:
    metadata = dict_at(line, "metadata")
    key = line.get("key") if isinstance(line.get("key"), str) else metadata.get("key")
    key = key if isinstance(key, str) and key else fallback_key
    error = line.get("error")
    if isinstance(error, dict) and error:
        from . import errors

        return BatchLine(key, error=errors.google(_as_google(error), None))
    document = dict_at(line, "response")
    try:
        return BatchLine(key, reply=gemini.read_reply(document, inline, model, price_each))
    except ProviderError as failure:
        return BatchLine(key, error=failure)


def _as_google(error: dict[str, Any]) -> dict[str, Any]:
    """A batch line's google.rpc.Status has a numeric code (3 = INVALID_ARGUMENT): name it as HTTP errors do."""
    codes = {3: "INVALID_ARGUMENT", 5: "NOT_FOUND", 7: "PERMISSION_DENIED", 8: "RESOURCE_EXHAUSTED",
             9: "FAILED_PRECONDITION", 13: "INTERNAL", 14: "UNAVAILABLE", 4: "DEADLINE_EXCEEDED"}
    status = error.get("status") or codes.get(error.get("code"))  # type: ignore[arg-type]
    return {**error, "status": status} if status else error


def refined(action: Callable[[], T]) -> T:
    """``action()``, a failed status read as Google defines it (bad key, quota, ...)."""
    try:
        return action()
    except ProviderError as error:
        raise gemini.refine(error) from None


def _document(response: Response) -> dict[str, Any]:
    return json_object(response, "Google")



def _header(response: Response, name: str) -> str | None:
    for key, value in response.headers.items():
        if key.lower() == name:
            return value
    return None
