"""Options declared once: each is a row (its flags, where its value goes, its check, help and default),
and a command's options are a tuple of rows (``cli.flags``, ``cli.queue_flags``, ``cli.command_options``).

A command's argparse parser is built from its rows (``runner.new_parser``, by :func:`add_to`), and
so are the arguments of its MCP tool (``cli.arguments``) and the keys of a jobs-file line
(``cli.jobs_file``). The check is a shared one (``validate``): the same rule for a flag, a tool
argument and a stored job. Nothing reads argparse's internals; argparse is only handed the rows.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from .. import validate
from ..record import Record

# How a flag takes its value: "value" (one), "list" (repeatable), "true" / "false" (a switch that
# sets the value), "toggle" (--x / --no-x, None when neither is given), "const" (no flag: a value the
# command fixes, such as its default model).
ACTIONS = ("value", "list", "true", "false", "toggle", "const")
# --help is laid out for an 80-column terminal, whatever the one it is printed on: argparse keeps a
# margin of 2 and starts help text at column 24. The same text everywhere, in references/cli.md too.
HELP_COLUMNS = 80 - 2
HELP_WIDTH = HELP_COLUMNS - 24


class Option(Record):
    """One option: the flags that give it and the rule its value is checked by."""

    flags: tuple[str, ...]  # ("--output-file", "--out"); the first is its name in --help
    dest: str  # where its value goes: the request field it fills, else the command's own name for it
    help: str = ""
    check: Callable[[Any], Any] | None = None  # a shared check (validate); None: text (or a path, see path)
    default: Any = None
    action: str = "value"  # one of ACTIONS
    choices: tuple[str, ...] | None = None
    metavar: str | None = None
    required: bool = False
    group: str | None = None  # the --help section it is listed under
    exclusive: str | None = None  # options with the same name here exclude each other
    path: bool = False  # its value is a filesystem path (a Path to the command)
    tool: bool = True  # an MCP tool argument too (False: it only shapes a run at a terminal)

    def but(self, **changes: Any) -> Option:
        """This option with another default, help or group (a queue script's --timeout, say)."""
        return self._replace(**changes)

    def initial(self) -> Any:
        """Its value when no flag gives it (a switch's is the opposite of what it sets)."""
        return {"true": False, "false": True}.get(self.action, self.default)

    def value_check(self) -> Callable[[Any], Any]:
        """The check of one value: the declared one, else what its action and choices imply."""
        if self.check is not None:
            return self.check
        if self.choices is not None:
            return validate.choice(*self.choices)
        if self.action in ("true", "false", "toggle"):
            return validate.flag
        return validate.path if self.path else validate.text

    def spellings(self) -> tuple[str, ...]:
        """Every flag that gives it: a toggle's --no-... forms too, as argparse makes them."""
        if self.action != "toggle":
            return self.flags
        return (*self.flags, *(f"--no-{flag[2:]}" for flag in self.flags))

    def negates(self, flag: str) -> bool:
        """Whether giving ``flag`` sets the value to false (--no-sidecar, --no-lock-palette)."""
        return self.action == "false" or (self.action == "toggle" and flag.startswith("--no-"))


Options = tuple[Option, ...]


def arg_type(check: Callable[[Any], Any]) -> Callable[[str], Any]:
    """An argparse type from a shared check: its ValueError becomes argparse's usage error."""
    def parse(text: str) -> Any:
        try:
            return check(text)
        except ValueError as error:
            raise argparse.ArgumentTypeError(str(error)) from None
    parse.__name__ = str(getattr(check, "__name__", "value"))  # argparse names it in some errors
    return parse


def wrapped(text: str, width: int = HELP_WIDTH) -> str:
    """``text`` broken into lines of at most ``width`` characters at spaces (a longer word keeps its
    own line). A flag name is never split at its hyphens, as textwrap would."""
    lines: list[str] = []
    line = ""
    for word in text.split():
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}" if line else word
    if line:
        lines.append(line)
    return "\n".join(lines)


def _keywords(option: Option) -> dict[str, Any]:
    """What argparse's add_argument is given for ``option``."""
    found: dict[str, Any] = {"dest": option.dest, "help": option.help}
    if option.action in ("true", "false"):
        found["action"] = "store_true" if option.action == "true" else "store_false"
        return found
    if option.action == "toggle":
        return {**found, "action": argparse.BooleanOptionalAction, "default": option.default}
    if option.action == "list":
        found["action"] = "append"
    if option.check is not None:
        found["type"] = arg_type(option.check)
    elif option.path:
        found["type"] = Path
    for key in ("default", "choices", "metavar"):
        if getattr(option, key) is not None:
            found[key] = getattr(option, key)
    if option.required and not option.exclusive:  # in a group of exclusive options: one of them is required
        found["required"] = True
    return found


def add_to(parser: argparse.ArgumentParser, options: Iterable[Option]) -> list[argparse.Action]:
    """Add ``options`` to ``parser``, each under its section, in the order given; the actions made."""
    actions = []
    groups: dict[str | None, Any] = {None: parser}
    exclusive: dict[str, Any] = {}
    for option in options:
        if option.action == "const":
            parser.set_defaults(**{option.dest: option.default})
            continue
        if option.group not in groups:
            groups[option.group] = parser.add_argument_group(option.group)
        target = groups[option.group]
        if option.exclusive:
            if option.exclusive not in exclusive:
                exclusive[option.exclusive] = target.add_mutually_exclusive_group(required=option.required)
            target = exclusive[option.exclusive]
        actions.append(target.add_argument(*option.flags, **_keywords(option)))
    return actions


def check_declaration(options: Options) -> None:
    """Refuse a declaration that argparse would take differently than it reads (a test runs it on all)."""
    seen: dict[str, Option] = {}
    for option in options:
        if option.action not in ACTIONS:
            raise ValueError(f"{option.dest}: unknown action {option.action!r}")
        if (option.action == "const") != (not option.flags):
            raise ValueError(f"{option.dest}: only a const option has no flag")
        for flag in option.flags:
            if flag in seen:
                raise ValueError(f"{flag} is declared twice ({seen[flag].dest}, {option.dest})")
            seen[flag] = option
