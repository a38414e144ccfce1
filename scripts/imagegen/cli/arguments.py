"""Tool arguments from a command's flags: where a caller that is not a command line (the MCP
server) learns what a command takes, without ever building argv.

A command's arguments are the flags of its parser (less the few that only shape a terminal run,
:data:`HIDDEN`). An argument that fills a field of the command's typed request takes that field's
check (``requests.FIELDS``, the checks of ``validate``) and is checked by ``Request.from_json``, as
a job file is; any other takes the check of its flag's type. Each keeps its flag's help and
default, and :func:`namespace` gives the command's ``handle()`` the Namespace its parser would
have made of the same checked values.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path
from typing import Any, Callable, NamedTuple

from .. import validate as v
from ..requests import Field, Request
from .requests import RENAMED

# Flags that only shape a terminal run: a tool result is always the JSON document, hints and
# warnings are in it, and a batch is several calls.
HIDDEN = frozenset({"help", "version", "quiet", "clarify_hints", "jobs_file", "table", "markdown", "json",
                    "save_preset"})  # a tool saves no user preset: that is a person's choice at a command line
# The values a hidden flag takes in a tool call (the others keep their defaults).
FIXED = {"quiet": True}


class Argument(NamedTuple):
    """One tool argument: the flag it stands for and the rule it is checked by."""

    name: str  # the property: the request field it fills, else the flag's dest
    dest: str  # where the command's Namespace keeps it
    field: Field  # its check, its default (the flag's) and whether it is required
    help: str
    in_request: bool  # checked by Request.from_json as part of the typed request
    convert: Callable[[Any], Any] | None = None  # a checked value as the flag's type gives it (a Path)

    def schema(self) -> dict[str, Any]:
        schema = v.schema_of(self.field.check)
        if self.help:
            schema["description"] = self.help
        if self.field.default is not None:
            schema["default"] = json_value(self.field.default)
        return schema


def json_value(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return [json_value(item) for item in value]
    if isinstance(value, Path):
        return str(value)
    return value


def flag_default(parser: argparse.ArgumentParser, action: argparse.Action) -> Any:
    """The value the flag has when it is not given, as argparse would store it."""
    default = parser.get_default(action.dest)
    if isinstance(default, str) and callable(action.type) and action.type is not str:
        default = action.type(default)  # argparse converts a string default with the flag's type
    return default


def _flag_check(action: argparse.Action) -> v.Check:
    """The check of a flag that fills no request field: its type's, or what its kind implies."""
    check = getattr(action.type, "check", None)  # cli.flags.arg_type keeps the shared check
    if check is None:
        if action.choices:
            check = v.choice(*action.choices)
        elif action.nargs == 0 and isinstance(action.const, bool):  # store_true / store_false
            check = v.flag
        elif isinstance(action, argparse.BooleanOptionalAction):
            check = v.flag
        elif action.type is int:
            check = v.integer
        elif action.type in (None, str, Path):
            check = v.path if action.type is Path else v.text
        else:
            raise TypeError(f"{'/'.join(action.option_strings)} has a type with no JSON form: {action.type!r}")
    return v.list_of(check) if isinstance(action, argparse._AppendAction) else check


def _converter(action: argparse.Action) -> Callable[[Any], Any] | None:
    if action.type is not Path:
        return None
    if isinstance(action, argparse._AppendAction):
        return lambda values: [Path(value) for value in values]
    return Path


def _negates(action: argparse.Action, option: str) -> bool:
    """Whether giving ``option`` sets its argument to false (--no-sidecar, --no-lock-palette)."""
    if isinstance(action, argparse.BooleanOptionalAction):
        return option.startswith("--no-")
    return action.nargs == 0 and action.const is False


def _flag_names(parser: argparse.ArgumentParser) -> dict[str, str]:
    """What each flag of ``parser`` is called as a tool argument, for help texts that mention flags."""
    names = {}
    for action in parser._actions:
        name = RENAMED.get(action.dest, action.dest)
        for option in action.option_strings:
            names[option] = f"{name}=false" if _negates(action, option) else name
    return names


_FLAG = re.compile(r"--[a-z][a-z0-9-]*")


def _help(action: argparse.Action, names: dict[str, str]) -> str:
    """The flag's help, speaking of arguments where it names flags."""
    text = _FLAG.sub(lambda match: names.get(match.group(), match.group()), " ".join((action.help or "").split()))
    if action.nargs == 0 and action.const is False:  # --no-sidecar and the like fill a field with false
        text = "false: " + text
    return text


def tool_arguments(parser: argparse.ArgumentParser, request: type[Request] | None) -> tuple[Argument, ...]:
    """The arguments of a tool whose flags are ``parser``'s and whose typed request is ``request``."""
    fields = {field.name: field for field in request.FIELDS} if request else {}
    names = _flag_names(parser)
    found: list[Argument] = []
    seen: set[str] = set()
    for action in parser._actions:
        if action.dest in HIDDEN or action.dest in seen or action.help == argparse.SUPPRESS:
            continue
        seen.add(action.dest)  # --size and --image-size fill one field: the first flag speaks for it
        name = RENAMED.get(action.dest, action.dest)
        default = flag_default(parser, action)
        if name in fields:
            field = fields[name]
            if default is not None:
                field = field._replace(default=default)
            found.append(Argument(name, action.dest, field, _help(action, names), True))
        else:
            field = Field(name, _flag_check(action), default, required=action.required)
            found.append(Argument(name, action.dest, field, _help(action, names), False, _converter(action)))
    return tuple(found)


def request_defaults(parser: argparse.ArgumentParser, request: type[Request]) -> dict[str, Any]:
    """The request's fields as the command's flags leave them when not given (its JSON form), so a
    tool call means what the same command line would (edit.py's default model, for one)."""
    dests = {field: dest for dest, field in RENAMED.items()}
    document = {}
    for field in request.FIELDS:
        dest = dests.get(field.name, field.name)
        action = next((a for a in parser._actions if a.dest == dest), None)
        default = flag_default(parser, action) if action else parser.get_default(dest)
        if default is not None:
            document[field.name] = json_value(default)
    return document


def namespace(parser: argparse.ArgumentParser, arguments: tuple[Argument, ...], request: Any,
              values: dict[str, Any]) -> argparse.Namespace:
    """The Namespace ``parser`` would have made of a checked ``request`` and the other ``values``."""
    found = dict(parser._defaults)
    found.update({action.dest: flag_default(parser, action) for action in parser._actions
                  if action.default is not argparse.SUPPRESS})
    found.update(FIXED)
    for argument in arguments:
        if argument.in_request:
            value = getattr(request, argument.name)
            if value != () or found.get(argument.dest) is not None:  # an unrepeated flag stays None
                found[argument.dest] = value
        elif argument.name in values:
            value = values[argument.name]
            found[argument.dest] = argument.convert(value) if argument.convert and value is not None else value
    return argparse.Namespace(**found)
