"""mcp_server.py: the scripts' work as Model Context Protocol tools, over stdio (see references/mcp.md)."""

from __future__ import annotations

import argparse
import os
import signal
import sys
from typing import Any, BinaryIO

from ..cli import command_options, runner

DESCRIPTION = """Serve image-gen's tools over the Model Context Protocol: JSON-RPC messages, one a line, on
stdin and stdout. Start it from an MCP client (Claude Desktop, Claude Code, Cursor: references/mcp.md),
not by hand. stdout carries protocol messages only; notes go to stderr.

tools: generate, edit, review, enqueue, enqueue_variants, queue_status, models, spend, preflight

examples:
  mcp_server.py --workdir ~/images
  mcp_server.py --max-calls 2 --progress-interval 5
"""


def build_parser() -> argparse.ArgumentParser:
    return runner.new_parser("mcp_server.py", DESCRIPTION, command_options.mcp_server())


def _claim_stdout() -> BinaryIO:
    """The protocol's own stream: the original stdout. File descriptor 1 and ``sys.stdout`` become stderr,
    so no stray write (ours, a library's, a child process's) can land between protocol messages."""
    sys.stdout.flush()
    protocol_fd = os.dup(1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    return os.fdopen(protocol_fd, "wb")


def _stop(signum: int, frame: Any) -> None:
    raise SystemExit(128 + signum)


def main(argv: list[str] | None = None) -> int:
    from ..contract import as_error, error_document, json_text
    from ..errors import ImageGenError

    try:
        args = build_parser().parse_args(argv)
    except SystemExit as stop:  # --help, --version
        return stop.code if isinstance(stop.code, int) else 0
    except ImageGenError as error:  # stdout is the protocol's: a bad command line is told on stderr
        sys.stderr.write(json_text(error_document(error)) + "\n")
        return error.exit_code
    from ..mcp.server import Server, Settings

    if args.workdir:
        try:
            os.chdir(os.path.expanduser(args.workdir))
        except OSError as error:
            sys.stderr.write(json_text(error_document(error)) + "\n")
            return as_error(error).exit_code
    from ..mcp.roots import Roots

    try:
        roots = Roots(os.getcwd(), args.allow_root)
    except ImageGenError as error:
        sys.stderr.write(json_text(error_document(error)) + "\n")
        return error.exit_code
    try:
        reader = sys.stdin.buffer
        output = _claim_stdout()
    except (OSError, ValueError, AttributeError) as error:  # a closed stdin or stdout: no client to serve
        sys.stderr.write(f"image-gen: mcp_server.py needs open stdin and stdout pipes from its client ({error})\n")
        return 1
    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGHUP, _stop)  # a closed terminal: calls in flight are recorded as SIGTERM's are
    server = Server(reader, output, Settings(progress_interval=args.progress_interval,
                                             shutdown_grace=args.shutdown_grace, max_calls=args.max_calls,
                                             roots=roots))
    try:
        server.serve()
    except KeyboardInterrupt:
        return 130
    except SystemExit as stop:
        return stop.code if isinstance(stop.code, int) else 0
    return 0
