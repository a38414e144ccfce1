"""The CLI runner: parse the flags, run the handler, print one JSON document, return the exit code.

Every script's ``main`` hands its parser and handler to :func:`run_cli`. The handler returns the
success payload (a dict) or raises an :class:`~imagegen.errors.ImageGenError`; anything else is
reported as an internal error without a traceback (set ``IMAGEGEN_DEBUG=1`` to see one on stderr).
"""

from __future__ import annotations

import argparse
import gc
import sys
from collections.abc import Callable, Iterable
from typing import Any

from .. import __version__
from ..contract import CONTRACT_VERSION, RunContext, as_error, emit, error_envelope, shorten, write_stdout
from ..errors import EXIT_OK, EXIT_USAGE, ImageGenError, UsageError
from .options import HELP_COLUMNS, Option, add_to, wrapped

REQUIRED_MISSING = "the following arguments are required"
# A command's start-up creates tens of thousands of objects that live until it exits, and the cyclic
# collector, run every 700 allocations by default, scans them again and again; at exit the interpreter
# scans them twice more. Together that was a quarter of a plain generation's CPU. A command run from its
# own command line collects less often (cycles are still collected, so memory stays bounded) and,
# once its document is written, freezes what is left so that exit does not scan it. (A frozen
# object left in a reference cycle is never finalized: files are closed by ``with``, never left to
# a finalizer.)
COLLECT_EVERY = 20_000

Handler = Callable[[argparse.Namespace, RunContext], dict[str, Any]]
Render = Callable[[argparse.Namespace, dict[str, Any]], str | None]


class JsonArgumentParser(argparse.ArgumentParser):
    """An ArgumentParser whose errors raise UsageError instead of printing text and exiting.

    ``declared`` holds the options it was built from (:func:`new_parser`): what its error
    messages consult, rather than argparse's private state."""

    declared: tuple[Option, ...] = ()
    declared_actions: tuple[argparse.Action, ...] = ()

    def parse_known_args(self, args=None, namespace=None):
        args = sys.argv[1:] if args is None else list(args)
        # A NUL byte fits no prompt, path or id (a real command line cannot even carry one), but one
        # can arrive through main(argv) or a --jobs-file line, and would fail deep inside os calls.
        for arg in args:
            if isinstance(arg, str) and "\x00" in arg:
                raise UsageError(f"{self.prog}: an argument holds a NUL byte: {shorten(repr(arg), 80)}",
                                 details="remove the NUL character; no flag, path or prompt can contain one")
        try:
            return super().parse_known_args(args, namespace)
        except UsageError as missing:
            # argparse reports a missing required flag first, yet "--promt x" is the mistake to name.
            unknown = self._unrecognized(args) if REQUIRED_MISSING in missing.message else []
            if not unknown:
                raise
            also = missing.message.split(REQUIRED_MISSING + ": ", 1)[-1]
            raise self._unrecognized_error(unknown, f" (and still required: {also})") from None

    def _unrecognized(self, args: list[str]) -> list[str]:
        """The arguments no flag takes, found by a twin parser whose options are none of them required."""
        relaxed = JsonArgumentParser(prog=self.prog, add_help=False)
        add_to(relaxed, [option.but(required=False) for option in self.declared])
        try:
            _, extras = relaxed.parse_known_args(args)
        except UsageError:
            return []
        return extras

    def _unrecognized_error(self, unknown: list[str], suffix: str = "") -> UsageError:
        import difflib

        flags = ["--help", "--version", *(flag for option in self.declared for flag in option.spellings())]
        guesses = [match for arg in unknown if arg.startswith("--")
                   for match in difflib.get_close_matches(arg.split("=", 1)[0], flags, n=1)]
        hint = f"did you mean {' or '.join(dict.fromkeys(guesses))}? " if guesses else ""
        return UsageError(f"{self.prog}: unrecognized arguments: {' '.join(unknown)}{suffix}",
                          details=f"{hint}run '{self.prog} --help' for usage")

    def parse_args(self, args=None, namespace=None):
        namespace, extras = self.parse_known_args(args, namespace)
        if extras:
            raise self._unrecognized_error(extras)
        return namespace

    def format_help(self) -> str:
        """The help, naming commands and documents as an installed command does when it is one."""
        installed = self.prog.startswith("image-gen-")
        if installed:
            from ..names import commands_named, for_command
        for action in self.declared_actions:  # wrapped only when shown: a run never formats its help
            # measured as shown: an installed command names its siblings by their longer command names
            action.help = wrapped(commands_named(action.help or "") if installed else action.help or "")
        text = super().format_help()
        return for_command(text) if installed else text

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{self.prog}: {message}", details=f"run '{self.prog} --help' for usage")


class HelpFor80Columns(argparse.RawTextHelpFormatter):
    """--help laid out for an 80-column terminal whatever the terminal (options' help is wrapped by
    ``format_help``): the same text everywhere, references/cli.md included. A fixed width also spares
    argparse asking the terminal its size for every option it adds."""

    def __init__(self, prog: str) -> None:
        super().__init__(prog, width=HELP_COLUMNS)


def program_name(script: str) -> str:
    """The name to show in usage and errors: an installed console command's own (image-gen-generate),
    else the script's."""
    from ..names import program_name as named

    return named(script)


def new_parser(prog: str, description: str, declared: Iterable[Option] = ()) -> JsonArgumentParser:
    """A command's parser: its name, its description and its declared options (``cli.command_options``)."""
    parser = JsonArgumentParser(
        prog=program_name(prog),
        description=description,
        formatter_class=HelpFor80Columns,
    )
    parser.add_argument("--version", action="version", version=f"image-gen {__version__}")
    parser.declared = tuple(declared)
    parser.declared_actions = tuple(add_to(parser, parser.declared))
    return parser


def run_cli(
    parser: argparse.ArgumentParser,
    handler: Handler,
    argv: list[str] | None = None,
    *,
    render: Render | None = None,
    exit_code: Callable[[dict[str, Any]], int] | None = None,
    log: Any = None,
) -> int:
    """Parse ``argv``, run ``handler`` and print one JSON document. Returns the exit code.

    ``exit_code`` lets a report (preflight) fail without being an error: ``success`` follows it.
    ``render`` may return text to print instead of the JSON (a ``--table`` the user asked for);
    errors are always JSON. ``log`` (a :class:`~imagegen.cli.logfile.LogFile` the handler may open)
    makes the document one line, as a log file wants it.
    """
    context = RunContext()
    own_command_line = argv is None  # this process is the command, and ends when it returns
    if own_command_line:
        gc.set_threshold(COLLECT_EVERY)
    try:
        return _run(parser, handler, argv, context, render, exit_code, log)
    finally:
        if own_command_line:
            gc.freeze()


def _run(parser: argparse.ArgumentParser, handler: Handler, argv: list[str] | None, context: RunContext,
         render: Render | None, exit_code: Callable[[dict[str, Any]], int] | None, log: Any) -> int:
    try:
        try:
            args = parser.parse_args(argv)
        except SystemExit as stop:  # --help / --version printed text, as people expect
            code = stop.code if isinstance(stop.code, int) else EXIT_OK
            return code
        saved = _save_preset(args)
        from .signals import stop_signals_interrupt

        with stop_signals_interrupt():
            result = handler(args, context)
        if saved:
            result = {**result, "preset_saved": saved}
        code = exit_code(result) if exit_code else EXIT_OK
        document = {"success": code == EXIT_OK, "contract_version": CONTRACT_VERSION, **result}
        text = render(args, document) if render else None
        if text is None:
            emit(document, indent=_indent(log))
            _tell_a_person(document, context, args)
        else:
            from ..config import redact

            text = redact(text)
            write_stdout(text if text.endswith("\n") else text + "\n")
        return code
    except KeyboardInterrupt as interrupt:  # Ctrl-C, or SIGTERM/SIGHUP (cli.signals)
        _failed(as_error(interrupt), context, log, parser.prog)
        return 130
    except Exception as error:  # the last line of defence: never a traceback on a user
        return _failed(as_error(error), context, log, parser.prog)


def _save_preset(args: argparse.Namespace) -> str | None:
    """--save-preset NAME: the preset as this run will use it (its --preset-set changes checked) saved
    as a user preset before the run, so a run that fails later still leaves it; the path saved."""
    name = getattr(args, "save_preset", None)
    if not name:
        return None
    if not getattr(args, "preset", None):
        raise UsageError("--save-preset saves a --preset (with its --preset-set changes), and none was given",
                         details="add --preset default (or the preset to start from)", kind="preset")
    from ..prompt import preset_edits, presets

    return str(preset_edits.save(presets.load(args.preset, tuple(args.preset_set or ())), name))


def _tell_a_person(document: dict[str, Any], context: RunContext, args: Any = None) -> None:
    """End with one human line on stderr when a person is watching it (a terminal), unless --quiet."""
    if getattr(args, "quiet", False) or sys.stderr is None or not sys.stderr.isatty():
        return
    from ..progress import line
    from .summary import human_line

    text = human_line(document, context.elapsed_ms())
    if text:
        line("image-gen: " + text)


def _indent(log: Any) -> int | None:
    return None if log is not None and log.active else 2


def _failed(error: ImageGenError, context: RunContext, log: Any, prog: str) -> int:
    """Print the error document (and, for a usage error, one line on stderr for a person at a
    terminal); the error's exit code."""
    document = error_envelope(error, context)
    emit(document, indent=_indent(log))
    if error.exit_code != EXIT_USAGE:
        _tell_a_person(document, context)
    else:
        from ..progress import line

        shown = error.message if error.message.startswith(prog + ":") else f"{prog}: {error.message}"
        line(shown + (f" ({error.details})" if error.details else ""))
    return error.exit_code
