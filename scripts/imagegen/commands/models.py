"""models.py: the model registry (aliases, ids, capabilities, prices) and the live catalogue."""

from __future__ import annotations

import argparse
from typing import Any

from ..cli import command_options, runner
from ..models import describe, registry

DESCRIPTION = """List the image models image-gen knows, with capabilities and prices (JSON on stdout).

examples:
  models.py                      # every model as JSON
  models.py --table              # the same for people
  models.py --alias nanobanana   # resolve one name
  models.py --refresh            # fetch OpenRouter's live image models and prices, then list
  models.py --markdown > references/model-card.md
"""


def build_parser() -> argparse.ArgumentParser:
    return runner.new_parser("models.py", DESCRIPTION, command_options.models())


def handle(args: argparse.Namespace, context: runner.RunContext) -> dict[str, Any]:
    if args.markdown:
        return {"markdown": describe.markdown()}
    refreshed: dict[str, Any] = {"refreshed": False}
    if args.refresh:
        from ..providers import model_lists

        refreshed = model_lists.refresh_all(timeout=args.timeout, retries=args.retries, quiet=args.quiet)
    return {**describe.listing(args.alias), **refreshed}


def render(args: argparse.Namespace, document: dict[str, Any]) -> str | None:
    if args.markdown:
        return document["markdown"]
    if args.table:
        return describe.table(registry.all_models(), document["catalogue"])
    return None


def main(argv: list[str] | None = None) -> int:
    return runner.run_cli(build_parser(), handle, argv, render=render)
