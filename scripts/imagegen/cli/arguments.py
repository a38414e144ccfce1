"""Tool arguments from a command's declared options (``cli.command_options``): where a caller that is
not a command line (the MCP server) learns what a command takes, without ever building argv.

A command's arguments are its options less those that only shape a terminal run (``tool=False``).
An argument that fills a field of the command's typed request takes that field's check
(``requests.FIELDS``, the checks of ``validate``) and is checked by ``Request.from_json``, as a job
file is; any other takes its option's check. Each keeps its option's help and default.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .. import validate
from ..record import Record
from ..requests import Field, Request
from .options import Option, Options


class Argument(Record):
    """One tool argument: the option it stands for and the rule it is checked by."""

    name: str  # the property: the option's dest (the request field it fills, if any)
    field: Field  # its check, its default (the option's) and whether it is required
    help: str
    in_request: bool  # checked by Request.from_json as part of the typed request
    convert: Callable[[Any], Any] | None = None  # a checked value as the command takes it (a Path)

    def schema(self) -> dict[str, Any]:
        schema = validate.schema_of(self.field.check)
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


def _converter(option: Option) -> Callable[[Any], Any] | None:
    if not option.path:
        return None
    if option.action == "list":
        return lambda values: [Path(value) for value in values]
    return Path


def _flag_names(options: Options) -> dict[str, str]:
    """What each flag is called as a tool argument, for help texts that mention flags."""
    return {flag: f"{option.dest}=false" if option.negates(flag) else option.dest
            for option in options for flag in option.spellings()}


_FLAG = re.compile(r"--[a-z][a-z0-9-]*")


def _help(option: Option, names: dict[str, str]) -> str:
    """The option's help, speaking of arguments where it names flags."""
    text = _FLAG.sub(lambda match: names.get(match.group(), match.group()), " ".join(option.help.split()))
    return "false: " + text if option.action == "false" else text  # --no-sidecar fills a field with false


def tool_arguments(options: Options, request: type[Request] | None) -> tuple[Argument, ...]:
    """The arguments of a tool whose options are ``options`` and whose typed request is ``request``."""
    fields = {field.name: field for field in request.FIELDS} if request else {}
    names = _flag_names(options)
    found: list[Argument] = []
    for option in options:
        if not option.tool or option.action == "const":
            continue
        check = option.value_check()
        default = option.initial()
        if option.dest in fields:
            field = fields[option.dest]
            if default is not None:
                field = field._replace(default=default)
            found.append(Argument(option.dest, field, _help(option, names), True))
        else:
            field = Field(option.dest, validate.list_of(check) if option.action == "list" else check, default,
                          required=option.required and not option.exclusive)
            found.append(Argument(option.dest, field, _help(option, names), False, _converter(option)))
    return tuple(found)


def request_defaults(options: Options, request: type[Request]) -> dict[str, Any]:
    """The request's fields as the command's options leave them when not given (its JSON form), so a
    tool call means what the same command line would (edit.py's default model, for one)."""
    fields = {field.name for field in request.FIELDS}
    return {option.dest: json_value(option.initial()) for option in options
            if option.dest in fields and option.initial() is not None}
