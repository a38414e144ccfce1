"""Environment: API keys, base URLs and the user's directories. Nothing else reads os.environ."""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlsplit

from .errors import ConfigError

OPENROUTER_KEY_VARS = ("OPENROUTER_API_KEY_IMAGES", "OPENROUTER_API_KEY")

DEFAULT_BASE_URLS = {
    "openrouter": ("OPENROUTER_BASE_URL", "https://openrouter.ai/api/v1"),
    "openai": ("OPENAI_BASE_URL", "https://api.openai.com/v1"),
    "anthropic": ("ANTHROPIC_BASE_URL", "https://api.anthropic.com"),
}

KEY_VARS = {
    "openrouter": OPENROUTER_KEY_VARS,
    "openai": ("OPENAI_API_KEY",),
    "anthropic": ("ANTHROPIC_API_KEY",),
}

KEY_HINTS = {
    "openrouter": "export OPENROUTER_API_KEY_IMAGES=sk-or-... (OPENROUTER_API_KEY also works)",
    "openai": "export OPENAI_API_KEY=sk-... (needed for edit.py --mode openai)",
    "anthropic": "export ANTHROPIC_API_KEY=sk-ant-... (or use review.py --provider openrouter)",
}


DEFAULT_APP_URL = "https://github.com/image-gen/image-gen"


def app_url() -> str:
    """The URL OpenRouter attributes requests to (``HTTP-Referer``); ``$IMAGEGEN_APP_URL`` replaces it."""
    return os.environ.get("IMAGEGEN_APP_URL", "").strip() or DEFAULT_APP_URL


DEFAULT_MODEL_VARS = {
    "generate": "IMAGEGEN_MODEL",  # generate.py's model when neither --model nor a preset names one
    "edit": "IMAGEGEN_EDIT_MODEL",  # edit.py --mode openrouter
    "openai_edit": "IMAGEGEN_OPENAI_EDIT_MODEL",  # edit.py --mode openai
    "review": "IMAGEGEN_REVIEW_MODEL",  # review.py --auto
}


def default_model(role: str, builtin: str) -> str:
    """The model for ``role`` when the command line and the preset name none: the environment's, else ours."""
    return os.environ.get(DEFAULT_MODEL_VARS[role], "").strip() or builtin


def key_variable(provider: str) -> str | None:
    """The name of the first set variable holding ``provider``'s key, or None."""
    for name in KEY_VARS[provider]:
        if os.environ.get(name, "").strip():
            return name
    return None


def api_key(provider: str) -> str:
    name = key_variable(provider)
    if name is None:
        names = " or ".join(KEY_VARS[provider])
        raise ConfigError(f"{names} is not set", details=KEY_HINTS[provider], kind="missing_key")
    return os.environ[name].strip()


MIN_SECRET_LENGTH = 8  # shorter values are not real keys, and masking them would garble ordinary text


def secret_values() -> list[str]:
    """Every API key set in the environment, longest first (so no key is masked only in part)."""
    values = {os.environ.get(name, "").strip() for names in KEY_VARS.values() for name in names}
    return sorted((v for v in values if len(v) >= MIN_SECRET_LENGTH), key=len, reverse=True)


def redact(text: str) -> str:
    """``text`` with every API key replaced by ``***``.

    The last guard before anything is printed or saved: providers echo keys back in error messages,
    and models can quote them in their text, in places no parser can foresee.
    """
    for secret in secret_values():
        if secret in text:
            text = text.replace(secret, "***")
    return text


def base_url(provider: str) -> str:
    variable, default = DEFAULT_BASE_URLS[provider]
    url = os.environ.get(variable, "").strip() or default
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(
            f"{variable} is not a valid http(s) URL: {url!r}",
            details=f"unset it to use {default}, or export {variable}=https://host/path",
        )
    return url.rstrip("/")


def _xdg(variable: str, fallback: str) -> Path:
    value = os.environ.get(variable, "").strip()
    return Path(value) if value else Path.home() / fallback


def user_config_dir() -> Path:
    return _xdg("XDG_CONFIG_HOME", ".config") / "image-gen"


def user_cache_dir() -> Path:
    return _xdg("XDG_CACHE_HOME", ".cache") / "image-gen"


def catalogue_path() -> Path:
    """The live model catalogue that ``models.py --refresh`` caches."""
    return user_cache_dir() / "models.json"


def user_state_dir() -> Path:
    return _xdg("XDG_STATE_HOME", ".local/state") / "image-gen"


def user_presets_dir() -> Path:
    value = os.environ.get("IMAGEGEN_PRESETS_DIR", "").strip()
    return Path(value) if value else user_config_dir() / "presets"


def ledger_path() -> Path:
    """The spending ledger (JSON Lines); ``$IMAGEGEN_LEDGER`` moves it."""
    value = os.environ.get("IMAGEGEN_LEDGER", "").strip()
    return Path(value).expanduser() if value else user_state_dir() / "ledger.jsonl"


def daily_budget_usd() -> float | None:
    """``$IMAGEGEN_DAILY_BUDGET_USD`` as a number, None when unset; ConfigError when malformed."""
    value = os.environ.get("IMAGEGEN_DAILY_BUDGET_USD", "").strip()
    if not value:
        return None
    try:
        budget = float(value)
    except ValueError:
        budget = -1.0
    if not budget >= 0 or budget == float("inf"):
        raise ConfigError(
            f"IMAGEGEN_DAILY_BUDGET_USD is not a non-negative number of dollars: {value!r}",
            details="export IMAGEGEN_DAILY_BUDGET_USD=5 (USD per local calendar day), or unset it",
        )
    return budget


def colour_wanted(stream_is_tty: bool) -> bool:
    """Colour only on a terminal, and never when ``NO_COLOR`` is set (https://no-color.org)."""
    return stream_is_tty and not os.environ.get("NO_COLOR") and os.environ.get("TERM") != "dumb"


def project_root() -> Path:
    """The checkout or install root that holds presets/ and references/."""
    return Path(__file__).resolve().parent.parent.parent


def script_command(name: str, *args: str) -> str:
    """How to run one of our scripts from here, for fixups and hints: a relative path when it is
    below the working directory, else the absolute path, else (an installed package) its console
    command."""
    import shlex
    import shutil

    path = project_root() / "scripts" / name
    command = "image-gen-" + name.removesuffix(".py").replace("_check", "").replace("_", "-")
    if not path.is_file() and shutil.which(command):
        return " ".join([command, *map(shlex.quote, args)])
    try:
        shown: Path | str = path.relative_to(Path.cwd())
    except ValueError:
        shown = path
    return " ".join(["python3", shlex.quote(str(shown)), *map(shlex.quote, args)])


def retry_base_seconds() -> float:
    """First back-off delay; tests shorten it with IMAGEGEN_RETRY_BASE_SEC."""
    try:
        return max(0.0, float(os.environ.get("IMAGEGEN_RETRY_BASE_SEC", "1")))
    except ValueError:
        return 1.0
