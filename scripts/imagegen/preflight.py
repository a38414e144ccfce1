"""Preflight: is this machine ready to generate? Each check says what it found and how to fix it.

Checks only look (the directory checks use ``os.access``, the queue probe is a non-blocking
``flock``) unless ``fix`` is set, which creates missing directories and returns stranded queue
jobs to pending/ (``leases.recover``). ``online`` adds one ``GET /key`` to confirm the OpenRouter
key and report its credit.

The OpenRouter key is required; Google's, OpenAI's and Anthropic's are optional, unless
``IMAGEGEN_MODEL`` names a model of a provider called directly (gemini-..., gpt-image-...): then that
provider's key, and a usable base URL for it, are required too.
"""

from __future__ import annotations

import os
import shlex
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from . import config
from .config import script_command
from .errors import ImageGenError, UsageError
from .models import catalogue
from .prompt import presets
from .queue.layout import SUBDIRS
from .queue.leases import DEFAULT_MAX_ATTEMPTS, DEFAULT_ORPHAN_TIMEOUT, DEFAULT_SLOTS
from .queue.status import health
from .spending import ledger

MIN_PYTHON = (3, 10)
OPTIONAL_KEYS = {  # provider -> (what the key unlocks, the fixup)
    "openai": ("mask edits (edit.py --mode openai) and gpt-image models (--provider openai)",
               "export OPENAI_API_KEY=sk-...   # from https://platform.openai.com/api-keys"),
    "google": ("Gemini models from Google directly (--provider google)",
               "export GEMINI_API_KEY=...   # from https://aistudio.google.com/apikey"),
    "anthropic": ("automatic review with Claude (review.py --auto)",
                  "export ANTHROPIC_API_KEY=sk-ant-...   # from https://console.anthropic.com/settings/keys"),
}
CREDITS_URL = "https://openrouter.ai/settings/credits"
KEYS_URL = "https://openrouter.ai/settings/keys"


@dataclass
class Check:
    kind: str
    name: str
    required: bool
    ok: bool
    detail: str
    fixup: str | None = None
    info: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        if not data["info"]:
            del data["info"]
        if self.ok:
            data.pop("fixup")
        return data


@dataclass
class Options:
    output_dir: Path
    queue_dir: Path
    fix: bool = False
    online: bool = False
    timeout: float = 15.0
    orphan_timeout: float = DEFAULT_ORPHAN_TIMEOUT
    max_attempts: int = DEFAULT_MAX_ATTEMPTS
    slots: int = DEFAULT_SLOTS
    cancelled: Callable[[], bool] | None = None  # an MCP call's cancellation: breaks off the online checks


def q(path: Path | str) -> str:
    return shlex.quote(str(path))


# -- individual checks -------------------------------------------------------------------------

def check_python() -> Check:
    version = ".".join(map(str, sys.version_info[:3]))
    ok = sys.version_info[:2] >= MIN_PYTHON
    return Check("runtime", "python", True, ok, f"Python {version} ({sys.executable})",
                 None if ok else "install Python 3.10 or newer, then run this check with it: python3.12 "
                 + script_command("preflight_check.py"))


def check_openrouter_key() -> Check:
    """The OpenRouter key: required unless IMAGEGEN_MODEL sends generation to Google or OpenAI directly."""
    found = config.key_variable("openrouter")
    if found is None:
        direct = default_model_provider()
        if direct is not None:
            return Check("key", "openrouter", False, False,
                         "neither OPENROUTER_API_KEY_IMAGES nor OPENROUTER_API_KEY is set: "
                         f"{_default_model_note(direct)}, "
                         "so generation works; OpenRouter's models, --enhance and review through OpenRouter do not",
                         "export OPENROUTER_API_KEY_IMAGES=sk-or-...   # from " + KEYS_URL)
        return Check("key", "openrouter", True, False,
                     "neither OPENROUTER_API_KEY_IMAGES nor OPENROUTER_API_KEY is set: nothing can be generated",
                     "export OPENROUTER_API_KEY_IMAGES=sk-or-...   # from " + KEYS_URL)
    detail = f"{found} is set (generation, chat edits, review through OpenRouter)"
    others = [v for v in config.key_variables_set("openrouter") if v != found]
    if others:
        detail += f"; {', '.join(others)} is also set and ignored"
    if not config.api_key("openrouter").startswith("sk-or-"):
        detail += "; the value does not start with sk-or- (is it an OpenRouter key?)"
    return Check("key", "openrouter", True, True, detail, info={"variable": found})


def default_model_provider() -> str | None:
    """The provider called directly for the default model IMAGEGEN_MODEL names (gemini-... is Google's,
    gpt-image-... OpenAI's), or None when it goes through OpenRouter."""
    from .models import registry, table

    return registry.provider_named_by(config.default_model("generate", table.DEFAULT_MODEL))


def check_optional_key(provider: str) -> Check:
    """A key for an optional feature; required when IMAGEGEN_MODEL names one of the provider's models."""
    found = config.key_variable(provider)
    unlocks, fixup = OPTIONAL_KEYS[provider]
    required = default_model_provider() == provider
    if found:
        detail = f"{found} is set: {unlocks} available"
        if required:
            detail += f"; {_default_model_note(provider)}"
        return Check("key", provider, required, True, detail, info={"variable": found})
    variables = config.KEY_VARS[provider]
    missing = f"neither {' nor '.join(variables)} is set" if len(variables) > 1 else f"{variables[0]} is not set"
    if required:
        return Check("key", provider, True, False,
                     f"{missing}, but {_default_model_note(provider)}: nothing can be generated with it", fixup)
    return Check("key", provider, False, False, f"{missing}: {unlocks} unavailable", fixup)


def _default_model_note(provider: str) -> str:
    from .models import direct_table

    variable = config.DEFAULT_MODEL_VARS["generate"]
    return f"{variable}={config.default_model_setting('generate')} is a model of {direct_table.NAMES[provider]}"


def check_base_url(provider: str) -> Check:
    variable, default = config.DEFAULT_BASE_URLS[provider]
    required = provider == "openrouter" or provider == default_model_provider()
    try:
        url = config.base_url(provider)
    except ImageGenError as error:
        return Check("base_url", provider, required, False, error.message,
                     f"unset {variable}   # or: export {variable}={default}")
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    shown = f"{parts.scheme}://{parts.hostname or ''}{':' + str(parts.port) if parts.port else ''}{parts.path}"
    detail = shown + (" (default)" if url == default else f" (from {variable})")
    if parts.scheme == "http" and parts.hostname not in ("127.0.0.1", "localhost", "::1"):
        detail += "; plain http sends your key unencrypted"
    return Check("base_url", provider, required, True, detail)


def _nearest_existing(path: Path) -> Path:
    for candidate in [path, *path.parents]:
        if candidate.exists():
            return candidate
    return Path("/")


def check_directory(name: str, path: Path, required: bool, fix: bool, subdirs: tuple[str, ...] = (),
                    purpose: str = "") -> Check:
    path = path.expanduser().absolute()
    if fix and not path.is_dir() and not path.exists():
        try:
            path.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            return Check("directory", name, required, False, f"{path}: cannot create ({error.strerror or error})",
                         f"mkdir -p {q(path)}   # as a user allowed to write {q(_nearest_existing(path))}")
    if fix and path.is_dir():
        for sub in subdirs:
            try:
                (path / sub).mkdir(exist_ok=True)
            except OSError:
                pass
    if path.exists():
        if not path.is_dir():
            return Check("directory", name, required, False, f"{path} exists but is not a directory",
                         f"mv {q(path)} {q(str(path) + '.bak')} && mkdir -p {q(path)}")
        if not os.access(path, os.W_OK | os.X_OK):
            return Check("directory", name, required, False, f"{path} is not writable by this user",
                         f"chmod u+rwx {q(path)}   # or choose another directory")
        missing = [s for s in subdirs if not (path / s).is_dir()]
        detail = f"{path} is writable" + (f" ({purpose})" if purpose else "")
        if missing:
            detail += f"; {', '.join(missing)}/ will be created on first use"
        return Check("directory", name, required, True, detail, info={"path": str(path)})
    parent = _nearest_existing(path.parent)
    if parent.is_dir() and os.access(parent, os.W_OK | os.X_OK):
        return Check("directory", name, required, True,
                     f"{path} does not exist yet; it will be created on first use (or run with --fix)",
                     info={"path": str(path)})
    return Check("directory", name, required, False, f"{path} does not exist and {parent} is not writable",
                 f"mkdir -p {q(path)}   # as a user allowed to write {q(parent)}")


def check_ledger() -> list[Check]:
    checks: list[Check] = []
    path = config.ledger_path()
    directory = check_directory("ledger", path.parent, False, False, purpose="spending ledger")
    if directory.ok and path.exists() and not os.access(path, os.R_OK | os.W_OK):
        directory = Check("directory", "ledger", False, False, f"{path} is not readable and writable",
                          f"chmod u+rw {q(path)}   # or export IMAGEGEN_LEDGER=/another/ledger.jsonl")
    elif directory.ok:
        directory.detail = f"{path}: " + ("present" if path.exists() else "created with the first paid call")
    elif directory.fixup:
        directory.fixup += "   # or export IMAGEGEN_LEDGER=/another/ledger.jsonl"
    checks.append(directory)
    try:
        budget = config.daily_budget_usd()
    except ImageGenError as error:
        checks.append(Check("spending", "daily_budget", True, False, error.message,
                            "export IMAGEGEN_DAILY_BUDGET_USD=5   # or: unset IMAGEGEN_DAILY_BUDGET_USD"))
        return checks
    if budget is None:
        checks.append(Check("spending", "daily_budget", False, True, "no IMAGEGEN_DAILY_BUDGET_USD: no daily cap"))
        return checks
    try:
        spent = ledger.spent_on(ledger.today())
    except ImageGenError as error:
        checks.append(Check("spending", "daily_budget", True, False, error.message, error.details))
        return checks
    left = max(0.0, budget - spent)
    checks.append(Check("spending", "daily_budget", False, left > 0,
                        f"spent ${spent:.4f} of ${budget:g} today, ${left:.4f} left",
                        None if left > 0 else "wait for local midnight, or export IMAGEGEN_DAILY_BUDGET_USD="
                        + f"{budget * 2:g}", info={"daily_budget_usd": budget, "spent_today_usd": spent}))
    return checks


def check_presets() -> list[Check]:
    names = presets.available()
    if not any(presets.builtin_dir().glob("*.json")):
        return [Check("preset", "(built-in)", False, False,
                      f"the built-in presets are missing from {presets.builtin_dir()}; found: "
                      + (", ".join(names) or "none"), _restore_builtin_presets())]
    checks = []
    for name in names:
        try:
            preset = presets.load(name)
        except UsageError as error:
            try:
                where = q(presets.find(name))
            except UsageError:  # gone, or not a regular file, since it was listed
                where = q(name)
            checks.append(Check("preset", name, False, False, error.message,
                                f"${{EDITOR:-vi}} {where}   # fix the field named above"))
            continue
        detail = str(preset.path) + (f"; {len(preset.warnings)} warning(s): " + "; ".join(preset.warnings)
                                     if preset.warnings else "")
        missing = [str(p) for p in preset.reference_images if not p.is_file()]
        if missing:
            fixup = f"${{EDITOR:-vi}} {q(preset.path)}   # fix style.reference_images"
            checks.append(Check("preset", name, False, False,
                                f"{preset.path}: reference image missing: " + ", ".join(missing), fixup))
            continue
        checks.append(Check("preset", name, False, True, detail))
    return checks


def _restore_builtin_presets() -> str:
    """How to bring the built-in presets back: from git in a checkout, else by reinstalling the package."""
    folder, root = presets.builtin_dir(), config.project_root()
    if (root / ".git").exists() and folder.is_relative_to(root):
        return f"git -C {q(root)} checkout -- {q(folder.relative_to(root))}"
    return "python3 -m pip install --force-reinstall --no-deps image-gen   # the presets are package data"


def check_catalogue() -> Check:
    status = catalogue.status()
    if not status["present"]:
        return Check("models", "catalogue", False, True, "built-in prices (no live catalogue cached)")
    if status["fresh"]:
        return Check("models", "catalogue", False, True,
                     f"live prices from {status['age']} ago ({status['models']} image models)")
    return Check("models", "catalogue", False, False,
                 f"the live catalogue is {status['age']} old and ignored; built-in prices in use",
                 script_command("models.py", "--refresh"))


def check_defaults() -> list[Check]:
    """Each default model set in the environment (IMAGEGEN_MODEL, ...) is one the live catalogue lists."""
    from .models import registry

    checks = []
    live = catalogue.fresh()
    for role, variable in config.DEFAULT_MODEL_VARS.items():
        value = config.default_model_setting(role)
        if not value or role in ("openai_edit",) or (role == "review" and "/" not in value):
            continue  # OpenAI and Anthropic models are not in OpenRouter's catalogue
        try:
            model_id = registry.resolve(value).id
        except ImageGenError as error:
            checks.append(Check("models", variable, False, False, f"{variable}={value}: {error.message}",
                                f"unset {variable}, or set it to a model {script_command('models.py')} lists"))
            continue
        if live is None or registry.provider_named_by(value) is not None:
            continue  # Google's and OpenAI's own models are not in OpenRouter's catalogue either
        if model_id in live.models:
            checks.append(Check("models", variable, False, True, f"{variable}={value} is served ({model_id})"))
        else:
            checks.append(Check("models", variable, False, False,
                                f"{variable}={value} ({model_id}) is not in the live catalogue",
                                f"choose one that {script_command('models.py', '--table')} lists"))
    return checks


def check_queue(options: Options) -> list[Check]:
    """Worker slots and stranded jobs, read through the queue package; with ``fix``, recover them."""
    from .queue import leases
    from .queue.layout import QueueDirs

    dirs = QueueDirs.at(options.queue_dir)
    view = health(dirs, options.slots, options.orphan_timeout)
    counts = view.counts
    waiting = f"{counts['pending']} pending, {counts['running']} running"
    busy = ", ".join(f"slot-{n}" for n in view.busy_slots)
    detail = (f"{len(view.busy_slots)} of {view.slots} worker slots busy" + (f" ({busy})" if busy else "")
              + f"; {waiting}")
    checks = [Check("queue", "worker_slots", False, True, detail,
                    info={"slots": view.slots, "busy": len(view.busy_slots), **counts})]
    if not view.stranded:
        checks.append(Check("queue", "stranded_jobs", False, True, "no stranded jobs"))
        return checks
    if options.fix:
        try:
            actions = leases.recover(dirs, options.orphan_timeout, options.max_attempts)
        except OSError as error:
            checks.append(Check("queue", "stranded_jobs", False, False,
                                f"{len(view.stranded)} job(s) stranded; --fix could not recover them "
                                f"({error.strerror or error})", f"chmod -R u+rwX {q(dirs.root)}"))
            return checks
        done = "; ".join(f"{a['job_id']}: {a['action'].replace('_', ' ')}"
                         + (f" ({a['reason']})" if a.get("reason") else "") for a in actions[:5])
        checks.append(Check("queue", "stranded_jobs", False, True,
                            f"--fix recovered {len(actions)} stranded job(s) as a worker would: {done}",
                            info={"recovered": actions}))
        return checks
    reasons = "; ".join(f"{s.job_id}: {s.reason}" for s in view.stranded[:5])
    flags = ["--fix", "--queue-dir", str(dirs.root)]
    if options.orphan_timeout != DEFAULT_ORPHAN_TIMEOUT:
        flags += ["--orphan-timeout-sec", f"{options.orphan_timeout:g}"]
    checks.append(Check("queue", "stranded_jobs", False, False,
                        f"{len(view.stranded)} job(s) stranded ({reasons}); the next worker recovers them, "
                        "or --fix returns them to pending/ now", script_command("preflight_check.py", *flags),
                        info={"jobs": [s.job_id for s in view.stranded]}))
    return checks


def check_online(timeout: float, cancelled: Callable[[], bool] | None = None) -> Check:
    from .http.client import HttpClient

    if config.key_variable("openrouter") is None:
        return Check("online", "openrouter_key", True, False, "cannot check the key: none is set",
                     "export OPENROUTER_API_KEY_IMAGES=sk-or-...")
    try:
        from .providers import openrouter_account

        key = config.api_key("openrouter")
        client = HttpClient(timeout=timeout, retries=1, secrets=[key], verbose=False, cancelled=cancelled)
        data = openrouter_account.key_limits(client)
    except ImageGenError as error:
        if error.kind == "interrupted":
            raise
        fix = (f"create or copy a valid key at {KEYS_URL}, then export OPENROUTER_API_KEY_IMAGES=sk-or-..."
               if error.kind == "auth" else "check your network or OPENROUTER_BASE_URL, then run this again")
        return Check("online", "openrouter_key", True, False, f"GET /key failed: {error.message}", fix)
    if not isinstance(data, dict):
        return Check("online", "openrouter_key", True, False, "GET /key answered without a data object",
                     "check OPENROUTER_BASE_URL points at OpenRouter's API (https://openrouter.ai/api/v1)")
    info = {k: data.get(k) for k in ("limit", "limit_remaining", "usage", "usage_daily", "is_free_tier")}
    limit, remaining = info["limit"], info["limit_remaining"]
    parts = ["key works"]
    parts.append("no credit limit" if limit is None else f"limit ${_num(limit)}")
    if remaining is not None:
        parts.append(f"remaining ${_num(remaining)}")
    if info["usage"] is not None:
        parts.append(f"used ${_num(info['usage'])}" + (f" (today ${_num(info['usage_daily'])})"
                                                       if info["usage_daily"] is not None else ""))
    ok = not (isinstance(remaining, (int, float)) and remaining <= 0)
    detail = ", ".join(parts) + ("" if ok else ": no credit left")
    return Check("online", "openrouter_key", True, ok, detail,
                 None if ok else f"add credits at {CREDITS_URL} or raise the key's limit at {KEYS_URL}", info=info)


def check_openai_models(timeout: float, cancelled: Callable[[], bool] | None = None) -> Check:
    """Whether the OpenAI key can use the model edit.py --mode openai will ask for."""
    from .http.client import HttpClient
    from .providers import openai_images

    wanted = config.default_model("openai_edit", openai_images.DEFAULT_MODEL)
    try:
        client = HttpClient(timeout=timeout, retries=1, secrets=[config.api_key("openai")], verbose=False,
                            cancelled=cancelled)
        models = openai_images.available_models(client)
    except ImageGenError as error:
        if error.kind == "interrupted":
            raise
        return Check("online", "openai_models", False, False, f"GET /v1/models failed: {error.message}",
                     "check OPENAI_API_KEY and OPENAI_BASE_URL")
    if wanted in models:
        return Check("online", "openai_models", False, True, f"{wanted} is available to this key",
                     info={"image_models": models})
    return Check("online", "openai_models", False, False,
                 f"{wanted} is not available to this OpenAI key (it can use: {', '.join(models) or 'no image model'})",
                 f"export IMAGEGEN_OPENAI_EDIT_MODEL={models[0]}" if models else
                 "ask for image model access in the OpenAI dashboard", info={"image_models": models})


def _num(value: Any) -> str:
    return f"{value:.2f}" if isinstance(value, (int, float)) else str(value)


# -- the whole run -----------------------------------------------------------------------------

def run_checks(options: Options) -> list[Check]:
    steps: list[Callable[[], Check | list[Check]]] = [
        check_python,
        check_openrouter_key,
        *[(lambda p=p: check_optional_key(p)) for p in OPTIONAL_KEYS],
        *[(lambda p=p: check_base_url(p)) for p in config.DEFAULT_BASE_URLS],
        lambda: check_directory("output", options.output_dir, True, options.fix, purpose="images and sidecars"),
        lambda: check_directory("queue", options.queue_dir, False, options.fix, SUBDIRS, "job queue"),
        check_ledger,
        check_presets,
        check_catalogue,
        check_defaults,
        lambda: check_queue(options),
    ]
    if options.online:
        steps.append(lambda: check_online(options.timeout, options.cancelled))
        if config.key_variable("openai"):
            steps.append(lambda: check_openai_models(options.timeout, options.cancelled))
    checks: list[Check] = []
    for step in steps:
        outcome = step()
        checks += outcome if isinstance(outcome, list) else [outcome]
    return checks


def report(checks: list[Check], started: float | None = None) -> dict[str, Any]:
    required = [c for c in checks if c.required and not c.ok]
    optional = [c for c in checks if not c.required and not c.ok]
    status = "fail" if required else ("warn" if optional else "ok")
    fixups = [c.fixup for c in required + optional if c.fixup]
    result: dict[str, Any] = {
        "status": status,
        "checks": [c.as_dict() for c in checks],
        "required_failures": [f"{c.kind}:{c.name}" for c in required],
        "fixups": list(dict.fromkeys(fixups)),
    }
    if started is not None:
        result["elapsed_ms"] = int((time.monotonic() - started) * 1000)
    return result


def render_text(document: dict[str, Any], colour: bool) -> str:
    def paint(text: str, code: str) -> str:
        return f"\033[{code}m{text}\033[0m" if colour else text

    rows = [(f"{c['kind']} {c['name']}" if c["kind"] != c["name"] else c["name"], c) for c in document["checks"]]
    width = max(len(label) for label, _ in rows)
    lines = ["image-gen preflight", ""]
    for label, check in rows:
        if check["ok"]:
            mark = paint("✓", "32")
        else:
            mark = paint("✗", "31" if check["required"] else "33")
        note = "" if check["ok"] or check["required"] else paint(" (optional)", "2")
        lines.append(f"  {mark} {label.ljust(width)}  {check['detail']}{note}")
    if document["fixups"]:
        lines += ["", "Fixups (copy and paste):"]
        lines += [f"  {fix}" for fix in document["fixups"]]
    failures = document["required_failures"]
    lines.append("")
    if failures:
        lines.append(paint(f"Not ready: {len(failures)} required check(s) failed: {', '.join(failures)}", "1;31"))
    elif document["status"] == "warn":
        lines.append(paint("Ready. Some optional features are unavailable (see above).", "1;32"))
    else:
        lines.append(paint("Ready.", "1;32"))
    return "\n".join(lines) + "\n"
