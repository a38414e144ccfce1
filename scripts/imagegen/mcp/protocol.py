"""The wire: JSON-RPC 2.0 messages, MCP protocol revisions and error codes.

Two eras of the protocol are served side by side. A *legacy* client (revisions up to 2025-11-25)
opens with ``initialize`` and the revision it negotiated holds for the process. A *modern* client
(2026-07-28) sends no handshake: every request names its revision and capabilities in ``_meta``,
``server/discover`` says what the server supports, and every result carries ``resultType``.
"""

from __future__ import annotations

from typing import Any

from .. import __version__
from ..contract import has_lone_surrogate, replace_lone_surrogates
from ..record import Record

LEGACY_VERSIONS = ("2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25")
MODERN_VERSIONS = ("2026-07-28",)
VERSIONS = (*LEGACY_VERSIONS, *MODERN_VERSIONS)
STRUCTURED_SINCE = "2025-06-18"  # structuredContent, outputSchema, resource_link, tool titles
ANNOTATIONS_SINCE = "2025-03-26"

VERSION_KEY = "io.modelcontextprotocol/protocolVersion"
CAPABILITIES_KEY = "io.modelcontextprotocol/clientCapabilities"
SERVER_INFO_KEY = "io.modelcontextprotocol/serverInfo"

PARSE_ERROR = -32700
INVALID_REQUEST = -32600
METHOD_NOT_FOUND = -32601
INVALID_PARAMS = -32602
INTERNAL_ERROR = -32603
UNSUPPORTED_VERSION = -32022

SERVER_INFO = {"name": "image-gen", "title": "image-gen", "version": __version__}
CAPABILITIES = {"tools": {"listChanged": False}}
INSTRUCTIONS = (
    "Generate, edit and review images, queue many and come back, check models, spending and setup. Every "
    "tool result's structuredContent is the JSON document the matching image-gen script prints: check "
    "`success`; on failure read `error_kind`, `retryable` and `details` (the fix). Saved images come as "
    "resource_link blocks (file URIs). Local files are sent to a provider only with the user's consent "
    "(confirm_external_upload); max_cost and the daily budget refuse a run before anything is sent."
)
MAX_MESSAGE_BYTES = 16 * 1024 * 1024
MAX_DEPTH = 128  # no message of the protocol nests near this; deeper is refused as a parse error


class ProtocolError(Exception):
    """A request the protocol refuses: answered with a JSON-RPC error, never a tool result."""

    def __init__(self, code: int, message: str, data: Any = None) -> None:
        super().__init__(message)
        self.code, self.message, self.data = code, message, data


class Request(Record):
    """One incoming request or notification, checked for shape."""

    method: str
    params: dict[str, Any]
    id: str | int | None  # None: a notification

    @property
    def is_notification(self) -> bool:
        return self.id is None


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def parse(line: bytes) -> Any:
    """One line as JSON (ProtocolError PARSE_ERROR when it is not, or nests past MAX_DEPTH)."""
    from ..localjson import LocalFileError, loads

    try:
        return loads(line, max_depth=MAX_DEPTH, name="message", parse_constant=_no_constants)
    except LocalFileError as error:
        raise ProtocolError(PARSE_ERROR, f"parse error: {str(error).removeprefix('message: ')[:200]}") from None


def valid_id(value: Any) -> bool:
    """An id this server can echo: an integer, or a string strict JSON parsers can read back."""
    if isinstance(value, str):
        return not has_lone_surrogate(value)
    return isinstance(value, int) and not isinstance(value, bool)


def holds_lone_surrogate(value: Any) -> bool:
    """Whether a lone surrogate is anywhere in ``value`` (its strings, list items, object keys and values)."""
    if isinstance(value, str):
        return has_lone_surrogate(value)
    if isinstance(value, list):
        return any(holds_lone_surrogate(item) for item in value)
    if isinstance(value, dict):
        return any(holds_lone_surrogate(key) or holds_lone_surrogate(item) for key, item in value.items())
    return False


def printable(value: Any) -> Any:
    """``value`` safe to echo to the client: a lone surrogate (which arrives as a ``\\ud800`` escape and
    which strict parsers refuse to read back) becomes U+FFFD, in strings, lists and objects alike."""
    if isinstance(value, str):
        return replace_lone_surrogates(value, "\ufffd")
    if isinstance(value, list):
        return [printable(item) for item in value]
    if isinstance(value, dict):
        return {printable(key): printable(item) for key, item in value.items()}
    return value


def as_request(message: Any) -> Request | None:
    """The request a JSON message holds; None for a response (this server sends no requests)."""
    if not isinstance(message, dict):
        kind = "a batch" if isinstance(message, list) else type(message).__name__
        raise ProtocolError(INVALID_REQUEST, f"invalid request: expected one JSON-RPC object, got {kind}")
    if "method" not in message and ("result" in message or "error" in message):
        return None
    if message.get("jsonrpc") != "2.0":
        raise ProtocolError(INVALID_REQUEST, 'invalid request: "jsonrpc" must be "2.0"')
    if not isinstance(message.get("method"), str):
        raise ProtocolError(INVALID_REQUEST, 'invalid request: "method" must be a string')
    if "id" in message and not valid_id(message["id"]):
        raise ProtocolError(INVALID_REQUEST, 'invalid request: "id" must be a string or an integer')
    params = message.get("params", {})
    if params is None:
        params = {}
    if not isinstance(params, dict):
        raise ProtocolError(INVALID_PARAMS, 'invalid params: "params" must be an object')
    return Request(message["method"], params, message.get("id"))


def meta(params: dict[str, Any]) -> dict[str, Any]:
    value = params.get("_meta")
    return value if isinstance(value, dict) else {}


def modern_version(params: dict[str, Any]) -> str | None:
    """The revision a modern request names in its ``_meta`` (ProtocolError when it is not served or
    the request lacks its required fields); None for a request without one (the legacy era)."""
    fields = meta(params)
    if VERSION_KEY not in fields:
        return None
    version = fields[VERSION_KEY]
    if version not in MODERN_VERSIONS:
        raise ProtocolError(UNSUPPORTED_VERSION, "Unsupported protocol version",
                            {"supported": list(VERSIONS), "requested": version})
    if not isinstance(fields.get(CAPABILITIES_KEY), dict):
        raise ProtocolError(INVALID_PARAMS, f"invalid params: _meta needs {CAPABILITIES_KEY} (an object)")
    return version


def negotiate(requested: Any) -> str:
    """The legacy revision to answer ``initialize`` with: the client's when served, else the latest."""
    return requested if requested in LEGACY_VERSIONS else LEGACY_VERSIONS[-1]


def at_least(version: str, since: str) -> bool:
    return VERSIONS.index(version) >= VERSIONS.index(since)


def result(request_id: Any, body: dict[str, Any], version: str | None) -> dict[str, Any]:
    """A result response; a modern one carries ``resultType`` and names the server in ``_meta``."""
    if version in MODERN_VERSIONS:
        body = {"resultType": "complete", **body, "_meta": {**body.get("_meta", {}), SERVER_INFO_KEY: SERVER_INFO}}
    return {"jsonrpc": "2.0", "id": request_id, "result": body}


def error(request_id: Any, code: int, message: str, data: Any = None) -> dict[str, Any]:
    """An error response; what it echoes of the request is made :func:`printable`."""
    body: dict[str, Any] = {"code": code, "message": printable(message)}
    if data is not None:
        body["data"] = printable(data)
    return {"jsonrpc": "2.0", "id": request_id, "error": body}

