"""spend.py: what the paid calls in the ledger cost, by day, model and request id."""

from __future__ import annotations

import argparse
from typing import Any

from ..cli import command_options, runner
from ..spending import report

DESCRIPTION = """Total the spending ledger (JSON on stdout; --table for people).

Every paid call appends one line to the ledger ($IMAGEGEN_LEDGER, default
$XDG_STATE_HOME/image-gen/ledger.jsonl). Costs are the provider's usage.cost; calls that may have
been billed without a reported cost count at their estimate.

examples:
  spend.py                       # everything, JSON
  spend.py --since 7d --table    # the last seven days, as a table
  spend.py --since 2026-05-01 --until 2026-05-31
  spend.py --request-id discord-1234
"""


def build_parser() -> argparse.ArgumentParser:
    return runner.new_parser("spend.py", DESCRIPTION, command_options.spend())


def handle(args: argparse.Namespace, context: runner.RunContext) -> dict[str, Any]:
    return report.spend_report(args.since, args.until, args.request_id)


def render(args: argparse.Namespace, document: dict[str, Any]) -> str | None:
    return report.table(document) if args.table else None


def main(argv: list[str] | None = None) -> int:
    return runner.run_cli(build_parser(), handle, argv, render=render)
