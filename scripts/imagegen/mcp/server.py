"""The server loop: read one JSON-RPC message a line, dispatch it, write one message a line.

Only protocol messages reach the output, each passed through ``contract.json_text`` (valid UTF-8,
every key masked by ``config.redact``) under one lock. Nothing a client sends stops the loop: a
line that is not JSON, not a request or too long gets a JSON-RPC error, an unknown method
``-32601``, bad params ``-32602``; a failing tool is a result with ``isError``. At the end of input
the calls still running get ``grace`` seconds to finish; those that do not are abandoned (see
``calls.Call.abandon``).
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from typing import Any, BinaryIO

from ..contract import json_text
from ..progress import note
from ..record import Record
from . import protocol
from .calls import Call
from .protocol import INVALID_PARAMS, INVALID_REQUEST, ProtocolError
from .roots import Roots
from .tools import BY_NAME, TOOLS


class Settings(Record):
    progress_interval: float = 2.0
    shutdown_grace: float = 30.0
    max_calls: int = 4
    roots: Roots | None = None  # the folders calls may touch (None: the working directory alone)


class Server:
    def __init__(self, reader: BinaryIO, writer: BinaryIO, settings: Settings | None = None) -> None:
        settings = Settings() if settings is None else settings
        self.reader, self.writer, self.settings = reader, writer, settings
        self.roots = settings.roots or Roots(os.getcwd(), use_config=False)
        self.legacy_version: str | None = None  # what initialize negotiated
        self._client_has_roots = False
        self._roots_asked = 0
        self._roots_request: str | None = None
        self.calls: dict[Any, Call] = {}
        self._calls_lock = threading.Lock()
        self._write_lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(settings.max_calls)
        self._tool_lists: dict[str, list[dict[str, Any]]] = {}
        # A handler's version is None only for initialize (and ping before it); None as its answer: it answers later.
        self.methods: dict[str, Callable[[protocol.Request, Any], dict[str, Any] | None]] = {
            "initialize": self.initialize, "ping": self.ping, "server/discover": self.discover,
            "tools/list": self.list_tools, "tools/call": self.call_tool}

    # -- output -------------------------------------------------------------------------------

    def write(self, message: dict[str, Any]) -> None:
        try:
            # No outgoing message carries a lone surrogate: strict JSON parsers refuse to read one back.
            data = (json_text(protocol.printable(message), indent=None) + "\n").encode("utf-8")
        except (TypeError, ValueError) as error:  # a value JSON cannot hold: say so rather than hang the client
            note(f"mcp: could not write a message: {type(error).__name__}: {error}")
            if message.get("id") is None:
                return
            fallback = protocol.error(message["id"], protocol.INTERNAL_ERROR, f"internal error: {type(error).__name__}")
            data = (json_text(fallback, indent=None) + "\n").encode("utf-8")
        with self._write_lock:
            try:
                self.writer.write(data)
                self.writer.flush()
            except (BrokenPipeError, ValueError, OSError):
                pass  # the client has gone; the loop ends at the end of input

    def respond(self, request_id: Any, body: dict[str, Any], version: str | None) -> None:
        self.write(protocol.result(request_id, body, version))

    # -- the loop -----------------------------------------------------------------------------

    def serve(self) -> None:
        """Answer every message until the input ends, then let the calls still running finish."""
        try:
            while (line := self._read_line()) is not None:
                if line.strip():
                    self.handle_line(line)
            self.drain(self.settings.shutdown_grace)
        finally:
            self.abandon_all("the MCP server stopped while the call was in flight")

    def _read_line(self) -> bytes | None:
        line = self.reader.readline(protocol.MAX_MESSAGE_BYTES + 1)
        if not line:
            return None
        if len(line) > protocol.MAX_MESSAGE_BYTES and not line.endswith(b"\n"):
            while (rest := self.reader.readline(protocol.MAX_MESSAGE_BYTES)) and not rest.endswith(b"\n"):
                pass
            self.write(protocol.error(None, INVALID_REQUEST,
                                      f"invalid request: a message may be at most {protocol.MAX_MESSAGE_BYTES} bytes"))
            return b""
        return line

    def handle_line(self, line: bytes) -> None:
        message: Any = None
        try:
            message = protocol.parse(line)
            request = protocol.as_request(message)
            if request is not None:
                self.dispatch(request)
            else:
                self._answered(message)
        except ProtocolError as error:
            self._refuse(message, error)
        except Exception as error:  # a bug of ours must not end the server
            note(f"mcp: internal error on {str(line[:200])}: {type(error).__name__}: {error}")
            self._refuse(message, ProtocolError(protocol.INTERNAL_ERROR, f"internal error: {type(error).__name__}"))

    def _refuse(self, message: Any, error: ProtocolError) -> None:
        if isinstance(message, dict) and "id" not in message and isinstance(message.get("method"), str):
            return  # a notification is never answered, not even with an error
        request_id = message.get("id") if isinstance(message, dict) and protocol.valid_id(message.get("id")) else None
        self.write(protocol.error(request_id, error.code, error.message, error.data))

    def dispatch(self, request: protocol.Request) -> None:
        if request.is_notification:
            if request.method == "notifications/cancelled":
                self.cancel(request.params)
            elif request.method in ("notifications/initialized", "notifications/roots/list_changed"):
                self._ask_roots()
            return  # any other notification: nothing to do
        handler = self.methods.get(request.method)
        if handler is None:
            raise ProtocolError(protocol.METHOD_NOT_FOUND, f"method not found: {request.method[:100]}")
        if request.method == "initialize":
            version = None
        else:
            version = protocol.modern_version(request.params) or self.legacy_version
            if version is None and request.method != "ping":
                raise ProtocolError(INVALID_REQUEST, f"invalid request: {request.method} before initialize",
                                    {"hint": "send initialize first, or name a protocol version in _meta "
                                             f"({protocol.VERSION_KEY}: {protocol.MODERN_VERSIONS[-1]})"})
        body = handler(request, version)
        if body is not None:
            self.respond(request.id, body, version)

    # -- methods ------------------------------------------------------------------------------

    def initialize(self, request: protocol.Request, version: str | None) -> dict[str, Any]:
        requested = request.params.get("protocolVersion")
        if not isinstance(requested, str):
            raise ProtocolError(INVALID_PARAMS, 'invalid params: initialize needs "protocolVersion" (a string)')
        self.legacy_version = protocol.negotiate(requested)
        capabilities = request.params.get("capabilities")
        self._client_has_roots = isinstance(capabilities, dict) and isinstance(capabilities.get("roots"), dict)
        return {"protocolVersion": self.legacy_version, "capabilities": protocol.CAPABILITIES,
                "serverInfo": protocol.SERVER_INFO, "instructions": protocol.INSTRUCTIONS}

    def ping(self, request: protocol.Request, version: str | None) -> dict[str, Any]:
        return {}

    def discover(self, request: protocol.Request, version: str | None) -> dict[str, Any]:
        if version not in protocol.MODERN_VERSIONS:
            raise ProtocolError(INVALID_PARAMS, f"invalid params: server/discover needs {protocol.VERSION_KEY} "
                                                "in _meta", {"supported": list(protocol.VERSIONS)})
        return {"supportedVersions": list(protocol.MODERN_VERSIONS), "capabilities": protocol.CAPABILITIES,
                "instructions": protocol.INSTRUCTIONS, "ttlMs": 3_600_000, "cacheScope": "public"}

    def list_tools(self, request: protocol.Request, version: str) -> dict[str, Any]:
        if request.params.get("cursor") is not None:
            raise ProtocolError(INVALID_PARAMS, "invalid params: unknown cursor (every tool is on the first page)")
        if version not in self._tool_lists:
            self._tool_lists[version] = [tool.definition(version) for tool in TOOLS]
        body: dict[str, Any] = {"tools": self._tool_lists[version]}
        if version in protocol.MODERN_VERSIONS:
            body.update(ttlMs=3_600_000, cacheScope="public")
        return body

    def call_tool(self, request: protocol.Request, version: str) -> None:
        name, arguments = request.params.get("name"), request.params.get("arguments", {})
        if not isinstance(name, str):
            raise ProtocolError(INVALID_PARAMS, 'invalid params: tools/call needs "name" (a string)')
        if name not in BY_NAME:
            raise ProtocolError(INVALID_PARAMS, f"Unknown tool: {name[:100]}", {"tools": list(BY_NAME)})
        if arguments is None:
            arguments = {}
        if not isinstance(arguments, dict):
            raise ProtocolError(INVALID_PARAMS, 'invalid params: "arguments" must be an object')
        token = protocol.meta(request.params).get("progressToken")
        with self._calls_lock:
            if request.id in self.calls:
                raise ProtocolError(INVALID_REQUEST, f"invalid request: id {request.id!r} is already in use")
            call = Call(request.id, BY_NAME[name], arguments, version,
                        progress_token=token if protocol.valid_id(token) else None, write=self.write,
                        respond=self.respond, slots=self._slots, interval=self.settings.progress_interval,
                        done=self._forget, roots=self.roots)
            self.calls[request.id] = call
        call.start()
        return None  # the call responds when it ends

    # -- the client's roots ------------------------------------------------------------------

    def _ask_roots(self) -> None:
        """Ask a client that offers roots which folders the user shares (``roots/list``)."""
        if not self._client_has_roots:
            return
        self._roots_asked += 1
        self._roots_request = f"image-gen-roots-{self._roots_asked}"
        self.write({"jsonrpc": "2.0", "id": self._roots_request, "method": "roots/list"})

    def _answered(self, message: dict[str, Any]) -> None:
        """A response to a request of ours: only the latest roots/list is awaited."""
        if message.get("id") != self._roots_request or self._roots_request is None:
            return
        self._roots_request = None
        result = message.get("result")
        if isinstance(result, dict):
            found = self.roots.set_client_roots(result.get("roots"))
            note(f"mcp: the client shares {len(found)} folder(s): {', '.join(found) or 'none'}")
        else:
            note("mcp: the client did not list its roots; tool calls keep to --workdir and --allow-root")

    # -- cancellation and the end -------------------------------------------------------------

    def cancel(self, params: dict[str, Any]) -> None:
        with self._calls_lock:
            call = self.calls.get(params.get("requestId")) if protocol.valid_id(params.get("requestId")) else None
        if call is not None:  # an unknown or finished id is ignored, as the protocol asks
            call.cancel(params.get("reason"))

    def _forget(self, call: Call) -> None:
        with self._calls_lock:
            if self.calls.get(call.request_id) is call:
                del self.calls[call.request_id]

    def running(self) -> list[Call]:
        with self._calls_lock:
            return list(self.calls.values())

    def drain(self, grace: float) -> None:
        deadline = time.monotonic() + grace
        for call in self.running():
            call.thread.join(max(0.0, deadline - time.monotonic()))

    def abandon_all(self, reason: str) -> None:
        for call in self.running():
            if call.finished.is_set():
                continue
            billed = call.abandon(reason)
            if billed:
                note(f"mcp: stopped during call {call.request_id!r} ({call.tool.name}) with {billed} provider call(s) "
                     "out: they may be billed; the spending ledger records them as charge_unknown")
