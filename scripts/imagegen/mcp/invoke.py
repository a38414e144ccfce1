"""One tool call, from its JSON arguments to the document the script would print.

The arguments are checked before anything runs: those that fill the command's typed request go
through ``Request.from_json`` over the request as the command's options default it (exactly what a
job file gets); the others through their options' checks, the same way. Any failure ends as the
script's error document, never as an exception out of the call.
"""

from __future__ import annotations

from typing import Any

from ..cli.arguments import request_defaults
from ..contract import CONTRACT_VERSION, RunContext, error_document
from ..record import Record
from ..requests import InvalidRequest, Request, RunOptions
from .protocol import holds_lone_surrogate, printable
from .roots import Roots
from .tools import Tool
from .watch import Watch, WatchedPaidRun

SCRIPT = "mcp_server.py"  # who pays, in the spending ledger


class Invocation(Record):
    """A checked call: what an adapter gets."""

    tool: Tool
    request: Any  # the typed request, or None for a tool without one
    values: dict[str, Any]  # every other argument, checked, defaults filled in
    context: RunContext
    watch: Watch

    def paid_run(self) -> WatchedPaidRun:
        from ..spending.guard import Spend

        options = RunOptions(timeout=self.values["timeout"], retries=self.values["retries"],
                             dry_run=self.values["dry_run"], quiet=True)
        return WatchedPaidRun(Spend(SCRIPT, self.request.request_id, self.request.max_cost), options, self.watch)


_checkers: dict[str, type[Request]] = {}


def _checker(tool: Tool) -> type[Request]:
    """A request class for the arguments outside the typed request, so they get the same treatment."""
    if tool.name not in _checkers:
        fields = tuple(argument.field for argument in tool.arguments() if not argument.in_request)
        _checkers[tool.name] = type(f"{tool.name}_arguments", (Request,), {"KIND": tool.name, "FIELDS": fields})
    return _checkers[tool.name]


def check_arguments(tool: Tool, arguments: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
    """(typed request or None, the other values) from a call's arguments; InvalidRequest if they break a rule."""
    known = {argument.name: argument for argument in tool.arguments()}
    for name, value in arguments.items():
        if holds_lone_surrogate(name) or holds_lone_surrogate(value):
            raise InvalidRequest(f"{tool.name}: argument {printable(name)[:40]} holds a lone surrogate "
                                 "(a code point from U+D800 to U+DFFF alone), which is not text",
                                 details="send every argument as valid Unicode text")
    unknown = sorted(str(name)[:40] for name in arguments if name not in known)
    if unknown:
        raise InvalidRequest(f"{tool.name} takes no argument {', '.join(unknown[:5])}",
                             details="its arguments: " + ", ".join(known))
    request = None
    if tool.request is not None:
        document = request_defaults(tool.options(), tool.request)
        document.update({name: value for name, value in arguments.items() if known[name].in_request})
        request = tool.request.from_json(document)
    rest = _checker(tool).from_json({name: value for name, value in arguments.items() if not known[name].in_request})
    return request, rest.values()


def invoke(tool: Tool, arguments: dict[str, Any], watch: Watch, roots: Roots | None = None) -> dict[str, Any]:
    """The document the script would print for this call (``success`` says which kind it is). With
    ``roots``, a call naming a path outside them is refused before anything runs."""
    context = RunContext()
    try:
        request, values = check_arguments(tool, arguments)
        if roots is not None:
            roots.check_call(tool.name, tool.arguments(), request, values)
        call = Invocation(tool, request, values, context, watch)
        result = tool.run(call)
        success = tool.passed(result) if tool.passed else True  # preflight: a failed check is not an error
        return {"success": success, "contract_version": CONTRACT_VERSION, **result}
    except (Exception, SystemExit) as error:
        return error_document(error, context)
