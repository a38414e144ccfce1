"""spend.py: what the paid calls in the ledger cost, by day, model and request id."""

from __future__ import annotations

import argparse
from typing import Any

from ..cli import flags as cli
from .. import config
from ..cli import runner
from ..spending import ledger, report as spendreport
from ..errors import UsageError

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
    parser = runner.new_parser("spend.py", DESCRIPTION)
    parser.add_argument("--since", metavar="DAY", help="first day to count: YYYY-MM-DD, today, yesterday or Nd")
    parser.add_argument("--until", metavar="DAY", help="last day to count (same forms; default today)")
    parser.add_argument("--request-id", type=cli.label, metavar="ID", help="only calls made for this request or job id")
    parser.add_argument("--table", action="store_true", help="print a table instead of JSON")
    return parser


def handle(args: argparse.Namespace, context: runner.RunContext) -> dict[str, Any]:
    since = spendreport.parse_day(args.since, flag="--since") if args.since else None
    until = spendreport.parse_day(args.until, flag="--until") if args.until else None
    if since and until and since > until:
        raise UsageError(f"--since {since} is after --until {until}", details="swap them")
    with ledger.streamed() as (entries, reading):  # one line in memory at a time, at any ledger size
        report = spendreport.summarise(entries, since=since, until=until, request_id=args.request_id)
    report["today"] = spendreport.today_status(config.daily_budget_usd())
    report["ledger"] = str(config.ledger_path())
    report["skipped_lines"] = reading.bad
    return report


def render(args: argparse.Namespace, document: dict[str, Any]) -> str | None:
    return spendreport.table(document) if args.table else None


def main(argv: list[str] | None = None) -> int:
    return runner.run_cli(build_parser(), handle, argv, render=render)
