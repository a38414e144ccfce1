"""models.py: the model registry (aliases, ids, capabilities, prices) and the live catalogue."""

from __future__ import annotations

import argparse
from typing import Any

from ..models import catalogue, describe as modelinfo, registry
from ..cli import flags as cli
from .. import config
from ..cli import runner

DESCRIPTION = """List the image models image-gen knows, with capabilities and prices (JSON on stdout).

examples:
  models.py                      # every model as JSON
  models.py --table              # the same for people
  models.py --alias nanobanana   # resolve one name
  models.py --refresh            # fetch OpenRouter's live image models and prices, then list
  models.py --markdown > references/model-card.md
"""


def build_parser() -> argparse.ArgumentParser:
    parser = runner.new_parser("models.py", DESCRIPTION)
    show = parser.add_mutually_exclusive_group()
    show.add_argument("--table", action="store_true", help="print an aligned table instead of JSON")
    show.add_argument("--markdown", action="store_true",
                      help="print the model card (built-in registry only) as Markdown")
    show.add_argument("--alias", metavar="NAME", help="resolve one alias or full id and print only that model")
    parser.add_argument("--refresh", action="store_true",
                        help="fetch GET /models?output_modalities=image and cache it "
                             f"(fresh for {catalogue.MAX_AGE_SECONDS // 3600}h) under the user's cache directory; "
                             "with GEMINI_API_KEY or OPENAI_API_KEY set, their model lists too (aliases resolve "
                             "against them)")
    group = parser.add_argument_group("network (with --refresh)")
    group.add_argument("--timeout", type=cli.positive_float, default=30.0,
                       help="seconds to wait for OpenRouter (default 30)")
    group.add_argument("--retries", type=cli.retries, default=2,
                       help="retries on 429/5xx and connection errors (0-10, default 2)")
    group.add_argument("--quiet", action="store_true", help="no notes on stderr")
    return parser


def refresh(args: argparse.Namespace) -> dict[str, Any]:
    from ..http.client import HttpClient
    from ..providers import openrouter_account

    key_var = config.key_variable("openrouter")
    key = config.api_key("openrouter") if key_var else None
    secrets = [config.api_key(p) for p in ("openrouter", "google", "openai") if config.key_variable(p)]
    client = HttpClient(timeout=args.timeout, retries=args.retries, secrets=secrets, verbose=not args.quiet)
    result = openrouter_account.refresh_catalogue(client, with_key=key is not None)
    result["model_lists"] = _direct_lists(client)
    return result


def _direct_lists(client: Any) -> dict[str, Any]:
    """Google's and OpenAI's model lists, for the routes whose key is set (a failure is a note: the
    OpenRouter catalogue is refreshed either way)."""
    from ..errors import ImageGenError
    from ..providers import catalogues

    found: dict[str, Any] = {}
    for route in ("google", "openai"):
        if not config.key_variable(route):
            continue
        try:
            found[route] = catalogues.refresh(route, client, with_key=True)
        except ImageGenError as error:
            found[route] = {"refreshed": False, "error": f"{error.kind}: {error.message}"}
    return found


def handle(args: argparse.Namespace, context: runner.RunContext) -> dict[str, Any]:
    if args.markdown:
        return {"markdown": modelinfo.markdown()}
    result: dict[str, Any] = refresh(args) if args.refresh else {"refreshed": False}
    if args.alias:
        spec = registry.resolve(args.alias)
        return {"model": modelinfo.describe(spec), "catalogue": catalogue.status(), **result}
    specs = registry.all_models()
    return {
        "default_model": registry.DEFAULT_MODEL,
        "models": [modelinfo.describe(spec) for spec in specs],
        "catalogue": catalogue.status(),
        **result,
    }


def render(args: argparse.Namespace, document: dict[str, Any]) -> str | None:
    if args.markdown:
        return document["markdown"]
    if args.table:
        return modelinfo.table(registry.all_models(), document["catalogue"])
    return None


def main(argv: list[str] | None = None) -> int:
    return runner.run_cli(build_parser(), handle, argv, render=render)
