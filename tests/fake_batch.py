"""Stateful fakes of the two batch engines, served by ``fake_api.FakeAPI``.

Shapes follow the providers' documentation:

* Gemini Batch Mode (https://ai.google.dev/gemini-api/docs/batch-api; reference
  https://ai.google.dev/api/batch-mode): ``POST models/{m}:batchGenerateContent`` with
  ``batch.inputConfig.requests.requests[]`` (``{"request", "metadata": {"key"}}``) or
  ``batch.inputConfig.fileName``; an Operation back, ``metadata.state`` BATCH_STATE_*, int64
  ``batchStats`` counters as strings; results in ``response.inlinedResponses.inlinedResponses[]``
  (input order) or ``response.responsesFile`` downloaded from ``/download/v1beta/{file}:download``;
  list ``GET batches`` -> ``{"operations", "nextPageToken"}``; ``POST batches/{id}:cancel``; the
  Files API's resumable upload (``x-goog-upload-url`` header, then ``upload, finalize``).
* OpenAI's Batch API (https://platform.openai.com/docs/api-reference/batch): ``POST /v1/files``
  (multipart, ``purpose=batch``) -> File; ``POST /v1/batches`` -> Batch (``status``,
  ``request_counts``, ``output_file_id``, ``error_file_id``, ``metadata``); output lines
  ``{"id", "custom_id", "response": {"status_code", "request_id", "body"}, "error": null}``; expired
  requests in the error file with ``error.code`` "batch_expired"; ``GET /v1/batches?limit&after``
  -> ``{"data", "has_more"}``.

A test drives a batch with :meth:`Engine.finish` (every request answered; per-key outcomes from
``outcome``), :meth:`Engine.expire`, :meth:`Engine.fail`, or leaves it running.
"""

from __future__ import annotations

import itertools
import json
import threading
from collections.abc import Callable
from typing import Any

_IDS = itertools.count(1)


class Engine:
    """The state both fakes share: batches by id, each with its requests (key, body) and state."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.batches: dict[str, dict[str, Any]] = {}
        self.files: dict[str, bytes] = {}
        #: key -> None (success) | "error" | "safety" | "missing": what finish() answers each request
        self.outcome: Callable[[str], str | None] = lambda key: None
        self.auto_finish = False  #: answer every batch as soon as it is polled
        self.creates = 0

    def new(self, batch: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            self.creates += 1
            self.batches[batch["id"]] = batch
        return batch

    def only(self) -> dict[str, Any]:
        assert len(self.batches) == 1, f"expected one batch, have {len(self.batches)}"
        return next(iter(self.batches.values()))


# -- Gemini -----------------------------------------------------------------------------------

class GeminiBatches(Engine):
    def __init__(self, image: Callable[[Any], bytes]) -> None:  # image(request): a picture of the size asked
        super().__init__()
        self.image = image
        self.uploads: dict[str, int] = {}  # upload session -> expected length
        self.inline_results = True  #: False: results as a responsesFile

    def create(self, record: Any) -> Any:
        from tests.fake_api import Reply, gemini_error_reply, gemini_request_problem

        if not record.headers.get("x-goog-api-key"):
            return gemini_request_problem(record)
        batch = (record.json or {}).get("batch") if isinstance(record.json, dict) else None
        config = (batch or {}).get("inputConfig") or (batch or {}).get("input_config") or {}
        name = (batch or {}).get("displayName") or (batch or {}).get("display_name")
        if not name:
            return gemini_error_reply(400, "* BatchGenerateContentRequest.batch.display_name: required")
        if "fileName" in config or "file_name" in config:
            data = self.files.get(config.get("fileName") or config.get("file_name"))
            if data is None:
                return gemini_error_reply(404, "File not found.")
            lines = [json.loads(line) for line in data.splitlines() if line.strip()]
            requests = [(line.get("key"), line.get("request")) for line in lines]
        else:
            inlined = (config.get("requests") or {}).get("requests") or []
            requests = [((item.get("metadata") or {}).get("key"), item.get("request")) for item in inlined]
        model = record.path.rsplit("/", 1)[-1].split(":", 1)[0]
        batch_id = f"batches/fake{next(_IDS)}"
        self.new({"id": batch_id, "name": name, "model": model, "requests": requests, "state": "BATCH_STATE_PENDING",
                  "results": None, "via_file": "fileName" in config or "file_name" in config})
        return Reply(json=self.operation(batch_id))

    def operation(self, batch_id: str) -> dict[str, Any]:
        batch = self.batches[batch_id]
        done = batch["state"] in ("BATCH_STATE_SUCCEEDED", "BATCH_STATE_FAILED", "BATCH_STATE_CANCELLED",
                                  "BATCH_STATE_EXPIRED")
        results = batch["results"] or []
        failed = sum(1 for r in results if "error" in r)
        stats = {"requestCount": str(len(batch["requests"])), "successfulRequestCount": str(len(results) - failed),
                 "failedRequestCount": str(failed), "pendingRequestCount": str(0 if done else len(batch["requests"]))}
        operation: dict[str, Any] = {
            "name": batch_id,
            "metadata": {"@type": "type.googleapis.com/google.ai.generativelanguage.v1main.GenerateContentBatch",
                         "model": f"models/{batch['model']}", "displayName": batch["name"], "state": batch["state"],
                         "createTime": "2026-12-01T10:00:00Z", "batchStats": stats, "name": batch_id},
            "done": done}
        if batch["state"] == "BATCH_STATE_SUCCEEDED":
            if batch.get("file"):
                operation["response"] = {"@type": "type.googleapis.com/google.ai.generativelanguage.v1main."
                                                  "GenerateContentBatchOutput", "responsesFile": batch["file"]}
            else:
                operation["response"] = {"@type": "type.googleapis.com/google.ai.generativelanguage.v1main."
                                                  "GenerateContentBatchOutput",
                                         "inlinedResponses": {"inlinedResponses": results}}
        if batch["state"] == "BATCH_STATE_FAILED":
            operation["error"] = {"code": 3, "message": "Invalid request in batch: contents is not specified"}
        return operation

    def finish(self, batch_id: str | None = None) -> None:
        """Answer every request (per ``outcome``) and mark the batch succeeded."""
        from tests.fake_api import gemini_response_json

        batch = self.batches[batch_id] if batch_id else self.only()
        results = []
        for key, request in batch["requests"]:
            outcome = self.outcome(key)
            if outcome == "missing":
                continue
            if outcome == "error":
                line: dict[str, Any] = {"error": {"code": 13, "message": "Internal error encountered."}}
            elif outcome == "safety":
                line = {"response": gemini_response_json([], text=None, finish_reason="IMAGE_SAFETY")}
            else:
                line = {"response": gemini_response_json([self.image(request)], model=batch["model"])}
            if not self.inline_results or batch["via_file"]:
                line["key"] = key
            else:
                line["metadata"] = {"key": key}
            results.append(line)
        batch["results"] = results
        if not self.inline_results or batch["via_file"]:
            name = f"files/batch-results-{next(_IDS)}"
            self.files[name] = b"".join(json.dumps(line).encode() + b"\n" for line in results)
            batch["file"] = name
        batch["state"] = "BATCH_STATE_SUCCEEDED"

    def expire(self, batch_id: str | None = None) -> None:
        (self.batches[batch_id] if batch_id else self.only())["state"] = "BATCH_STATE_EXPIRED"

    def fail(self, batch_id: str | None = None) -> None:
        (self.batches[batch_id] if batch_id else self.only())["state"] = "BATCH_STATE_FAILED"

    def get(self, record: Any) -> Any:
        from tests.fake_api import Reply, gemini_error_reply

        batch_id = record.path.split("/v1beta/", 1)[1]
        if batch_id not in self.batches:
            return gemini_error_reply(404, f"Batch {batch_id} not found.")
        if self.auto_finish and self.batches[batch_id]["state"] == "BATCH_STATE_PENDING":
            self.finish(batch_id)
        return Reply(json=self.operation(batch_id))

    def list(self, record: Any) -> Any:
        from tests.fake_api import Reply

        return Reply(json={"operations": [self.operation(i) for i in self.batches]})

    def cancel(self, record: Any) -> Any:
        from tests.fake_api import Reply, gemini_error_reply

        batch_id = record.path.split("/v1beta/", 1)[1].rsplit(":", 1)[0]
        if batch_id not in self.batches:
            return gemini_error_reply(404, f"Batch {batch_id} not found.")
        self.batches[batch_id]["state"] = "BATCH_STATE_CANCELLED"
        return Reply(json={})

    def upload(self, record: Any, base_url: str) -> Any:
        from tests.fake_api import Reply, gemini_error_reply

        command = record.headers.get("x-goog-upload-command", "")
        if command == "start":
            if not record.headers.get("x-goog-api-key"):
                return gemini_error_reply(403, "Method doesn't allow unregistered callers")
            session = f"s{next(_IDS)}"
            self.uploads[session] = int(record.headers.get("x-goog-upload-header-content-length") or 0)
            return Reply(json={}, headers={"X-Goog-Upload-URL": f"{base_url}/upload/v1beta/files?upload_id={session}",
                                           "X-Goog-Upload-Status": "active"})
        session = record.query.get("upload_id", "")
        if "upload" not in command or session not in self.uploads or len(record.body) != self.uploads[session]:
            return gemini_error_reply(400, "Bad upload")
        name = f"files/upload{next(_IDS)}"
        self.files[name] = record.body
        return Reply(json={"file": {"name": name, "mimeType": "application/jsonl", "sizeBytes": str(len(record.body)),
                                    "state": "ACTIVE", "source": "UPLOADED"}},
                     headers={"X-Goog-Upload-Status": "final"})

    def download(self, record: Any) -> Any:
        from tests.fake_api import Reply, gemini_error_reply

        name = record.path.split("/download/v1beta/", 1)[1].rsplit(":", 1)[0]
        if name not in self.files or record.query.get("alt") != "media":
            return gemini_error_reply(404, "File not found.")
        return Reply(body=self.files[name], content_type="application/octet-stream")


# -- OpenAI -----------------------------------------------------------------------------------

class OpenAIBatches(Engine):
    def __init__(self, image: Callable[[dict[str, Any]], bytes]) -> None:  # image(body): the size asked
        super().__init__()
        self.image = image
        self.usage: dict[str, Any] | None = None  #: a scripted ``usage`` for every result; None: the size's

    def upload(self, record: Any) -> Any:
        from tests.fake_api import Reply, openai_error_reply

        if record.form.get("purpose") != "batch" or record.part("file") is None:
            return openai_error_reply(400, "Missing required parameter: 'purpose' and 'file'.")
        file_id = f"file-fake{next(_IDS)}"
        self.files[file_id] = record.part("file").data
        return Reply(json={"id": file_id, "object": "file", "bytes": len(self.files[file_id]), "created_at": 1764583200,
                           "filename": record.part("file").filename, "purpose": "batch", "status": "processed"})

    def create(self, record: Any) -> Any:
        from tests.fake_api import Reply, openai_error_reply

        body = record.json if isinstance(record.json, dict) else {}
        data = self.files.get(body.get("input_file_id"))
        if data is None:
            return openai_error_reply(400, "Invalid 'input_file_id'.")
        if body.get("endpoint") != "/v1/images/generations" or body.get("completion_window") != "24h":
            return openai_error_reply(400, "Invalid 'endpoint' or 'completion_window'.")
        lines = [json.loads(line) for line in data.splitlines() if line.strip()]
        batch_id = f"batch_fake{next(_IDS)}"
        batch = self.new({"id": batch_id, "object": "batch", "endpoint": body["endpoint"], "errors": None,
                          "input_file_id": body["input_file_id"], "completion_window": "24h", "status": "validating",
                          "output_file_id": None, "error_file_id": None, "created_at": 1764583200,
                          "request_counts": {"total": len(lines), "completed": 0, "failed": 0},
                          "metadata": body.get("metadata") or {}, "lines": lines})
        return Reply(json=self.public(batch))

    def public(self, batch: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in batch.items() if k != "lines"}

    def finish(self, batch_id: str | None = None, status: str = "completed") -> None:
        from tests.fake_api import generations_reply

        batch = self.batches[batch_id] if batch_id else self.only()
        output, errors = [], []
        for line in batch["lines"]:
            key = line["custom_id"]
            outcome = self.outcome(key) if status in ("completed", "cancelled") else "expired"
            if outcome == "missing":
                continue
            if outcome == "expired":
                errors.append({"id": f"batch_req_{next(_IDS)}", "custom_id": key, "response": None,
                               "error": {"code": "batch_expired", "message": "This request could not be executed "
                                                                             "before the completion window expired."}})
            elif outcome in ("error", "safety"):
                code = "moderation_blocked" if outcome == "safety" else "server_error"
                status_code = 400 if outcome == "safety" else 500
                errors.append({"id": f"batch_req_{next(_IDS)}", "custom_id": key, "response": {
                    "status_code": status_code, "request_id": "req_x", "body": {"error": {
                        "message": "Your request was rejected by the safety system." if outcome == "safety"
                        else "The server had an error.", "type": "image_generation_user_error", "param": None,
                        "code": code}}}, "error": None})
            else:
                asked = line.get("body") if isinstance(line.get("body"), dict) else {}
                body = generations_reply([self.image(asked)], size=str(asked.get("size") or "1024x1024"),
                                         quality=str(asked.get("quality") or "auto"),
                                         model=str(asked.get("model") or "gpt-image-2"), usage=self.usage).json
                output.append({"id": f"batch_req_{next(_IDS)}", "custom_id": key,
                               "response": {"status_code": 200, "request_id": "req_y", "body": body}, "error": None})
        for name, lines in (("output_file_id", output), ("error_file_id", errors)):
            if lines:
                file_id = f"file-fake{next(_IDS)}"
                self.files[file_id] = b"".join(json.dumps(line).encode() + b"\n" for line in lines)
                batch[name] = file_id
        batch["request_counts"] = {"total": len(batch["lines"]), "completed": len(output), "failed": len(errors)}
        batch["status"] = status

    def expire(self, batch_id: str | None = None) -> None:
        self.finish(batch_id, status="expired")

    def fail(self, batch_id: str | None = None) -> None:
        batch = self.batches[batch_id] if batch_id else self.only()
        batch["status"] = "failed"
        batch["errors"] = {"object": "list", "data": [{"code": "invalid_request", "message": "Invalid 'model'.",
                                                       "param": "body.model", "line": 1}]}

    def get(self, record: Any) -> Any:
        from tests.fake_api import Reply, openai_error_reply

        batch = self.batches.get(record.path.rsplit("/", 1)[-1])
        if batch is None:
            return openai_error_reply(404, "No batch found.")
        if self.auto_finish and batch["status"] == "validating":
            self.finish(batch["id"])
        elif batch["status"] == "validating":
            batch["status"] = "in_progress"
        return Reply(json=self.public(batch))

    def list(self, record: Any) -> Any:
        from tests.fake_api import Reply

        data = [self.public(b) for b in reversed(list(self.batches.values()))]
        return Reply(json={"object": "list", "data": data, "first_id": data[0]["id"] if data else None,
                           "last_id": data[-1]["id"] if data else None, "has_more": False})

    def cancel(self, record: Any) -> Any:
        from tests.fake_api import Reply, openai_error_reply

        batch = self.batches.get(record.path.split("/")[-2])
        if batch is None:
            return openai_error_reply(404, "No batch found.")
        batch["status"] = "cancelled"  # OpenAI passes through "cancelling" first; a poll sees the end
        return Reply(json=self.public(batch))

    def content(self, record: Any) -> Any:
        from tests.fake_api import Reply, openai_error_reply

        data = self.files.get(record.path.split("/")[-2])
        if data is None:
            return openai_error_reply(404, "No such File object.")
        return Reply(body=data, content_type="application/octet-stream")
