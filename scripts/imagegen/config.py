"""Environment: API keys, base URLs, default models, the user's directories and the few tuning variables.
Nothing else reads os.environ (tests/test_layering.py holds the package to it)."""

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
    "google": ("GEMINI_BASE_URL", "https://generativelanguage.googleapis.com/v1beta"),
}

KEY_VARS = {
    "openrouter": OPENROUTER_KEY_VARS,
    "openai": ("OPENAI_API_KEY",),
    "anthropic": ("ANTHROPIC_API_KEY",),
    "google": ("GEMINI_API_KEY", "GOOGLE_API_KEY"),
}

KEY_HINTS = {
    "openrouter": "export OPENROUTER_API_KEY_IMAGES=sk-or-... (OPENROUTER_API_KEY also works)",
    "openai": "export OPENAI_API_KEY=sk-... (needed for --provider openai and edit.py --mode openai)",
    "anthropic": "export ANTHROPIC_API_KEY=sk-ant-... (or use review.py --provider openrouter)",
    "google": "export GEMINI_API_KEY=... (a Google AI Studio key; GOOGLE_API_KEY also works) for --provider google",
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
    return default_model_setting(role) or builtin


def default_model_setting(role: str) -> str:
    """The model the environment names for ``role`` (``$IMAGEGEN_MODEL``, ...), or ``""``."""
    return os.environ.get(DEFAULT_MODEL_VARS[role], "").strip()


def key_variable(provider: str) -> str | None:
    """The name of the first set variable holding ``provider``'s key (the one used), or None."""
    return next(iter(key_variables_set(provider)), None)


def key_variables_set(provider: str) -> list[str]:
    """The names of every set variable holding ``provider``'s key, the one used first."""
    return [name for name in KEY_VARS[provider] if os.environ.get(name, "").strip()]


def api_key(provider: str) -> str:
    name = key_variable(provider)
    if name is None:
        names = " or ".join(KEY_VARS[provider])
        raise ConfigError(f"{names} is not set", details=KEY_HINTS[provider], kind="missing_key",
                          extra={"provider": provider})
    return os.environ[name].strip()


MIN_SECRET_LENGTH = 8  # shorter values are not real keys, and masking them would garble ordinary text
# Any run of this many characters taken from a key is masked: a provider that echoes a key less a
# few characters, or cuts it, still gives it away. Twelve characters of a random key are never
# ordinary text; the only shared run is a vendor's prefix ("sk-or-v1-" is 9), which stays shorter.
MIN_KEY_FRAGMENT = 12
_ANCHOR = MIN_KEY_FRAGMENT // 2  # every fragment holds a whole aligned block of this size
_USERINFO = None  # compiled on first use: most texts hold no URL with a user name


def secret_values() -> list[str]:
    """Every API key set in the environment, and the credentials in a base URL, longest first."""
    values = {os.environ.get(name, "").strip() for names in KEY_VARS.values() for name in names}
    for variable, _ in DEFAULT_BASE_URLS.values():
        values.update(_url_credentials(os.environ.get(variable, "")))
    return sorted((v for v in values if len(v) >= MIN_SECRET_LENGTH), key=len, reverse=True)


def _url_credentials(url: str) -> list[str]:
    """``user:password`` and the password of a URL's userinfo (some messages show the host without the scheme)."""
    netloc = urlsplit(url.strip()).netloc if "@" in url else ""
    if "@" not in netloc:
        return []
    userinfo = netloc.rsplit("@", 1)[0]
    return [userinfo, userinfo.partition(":")[2]]


def redact(text: str) -> str:
    """``text`` with every secret (see :func:`secret_values`), and every run of at least
    MIN_KEY_FRAGMENT characters of one, replaced by ``***``, and the ``user:password@`` of every URL
    by ``***@``.

    The last guard before anything is printed or saved: providers echo keys back in error messages,
    models can quote them in their text, and base URLs can carry credentials, in places no parser
    can foresee. Spans of all secrets are found first and masked together, so keys that share a
    run (a vendor's prefix) cannot leave each other's ends showing.
    """
    spans: list[tuple[int, int]] = []
    for secret in secret_values():
        spans += _fragment_spans(text, secret) if len(secret) >= MIN_KEY_FRAGMENT else _exact_spans(text, secret)
    return _mask_userinfo(_masked(text, spans) if spans else text)


def _exact_spans(text: str, secret: str) -> list[tuple[int, int]]:
    spans, found = [], text.find(secret)
    while found != -1:
        spans.append((found, found + len(secret)))
        found = text.find(secret, found + 1)
    return spans


def _fragment_spans(text: str, secret: str) -> list[tuple[int, int]]:
    """Every run of ``text`` of MIN_KEY_FRAGMENT or more characters that also occurs in ``secret``.

    Such a run always contains one of the secret's aligned ``_ANCHOR``-character blocks, so only the
    places where a block occurs are examined (str.find, not a scan per character)."""
    spans = []
    for start in range(0, len(secret) - _ANCHOR + 1, _ANCHOR):
        block = secret[start:start + _ANCHOR]
        found = text.find(block)
        while found != -1:
            left, offset = found, start
            while left > 0 and offset > 0 and text[left - 1] == secret[offset - 1]:
                left, offset = left - 1, offset - 1
            right, end = found + _ANCHOR, start + _ANCHOR
            while right < len(text) and end < len(secret) and text[right] == secret[end]:
                right, end = right + 1, end + 1
            if right - left >= MIN_KEY_FRAGMENT:
                spans.append((left, right))
            found = text.find(block, found + 1)
    return spans


def _masked(text: str, spans: list[tuple[int, int]]) -> str:
    """``text`` with each of the (possibly overlapping) ``spans`` replaced by one ``***``."""
    pieces, last = [], 0
    for left, right in sorted(spans):
        if left < last:  # overlaps the span just masked
            last = max(last, right)
            continue
        pieces += [text[last:left], "***"]
        last = right
    return "".join(pieces) + text[last:]


def _mask_userinfo(text: str) -> str:
    global _USERINFO
    if "@" not in text or "://" not in text:
        return text
    if _USERINFO is None:
        import re

        _USERINFO = re.compile(r"(?<=://)[^/?#\s@\"'<>]+@")
    return _USERINFO.sub("***@", text)


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


def debug_enabled() -> bool:
    """``IMAGEGEN_DEBUG=1``: show an internal error's traceback on stderr."""
    return bool(os.environ.get("IMAGEGEN_DEBUG"))


def colour_wanted(stream_is_tty: bool) -> bool:
    """Colour only on a terminal, and never when ``NO_COLOR`` is set (https://no-color.org)."""
    return stream_is_tty and not os.environ.get("NO_COLOR") and os.environ.get("TERM") != "dumb"


def project_root() -> Path:
    """The checkout or install root that holds presets/ and references/."""
    return Path(__file__).resolve().parent.parent.parent


def script_command(name: str, *args: str) -> str:
    """How to run one of our scripts from here, for fixups and hints: a relative path when it is
    below the working directory, else the absolute path; an installed package has no scripts/, so
    its console command: by name when it is on PATH, else the one beside the running command (a bin
    directory run by full path, as under cron), else by name."""
    import shlex
    import shutil
    import sys

    from .names import COMMANDS

    path = project_root() / "scripts" / name
    command = COMMANDS.get(name, "image-gen-" + name.removesuffix(".py").replace("_", "-"))
    if not path.is_file():
        beside = Path(sys.argv[0]).absolute().parent / command if sys.argv and sys.argv[0] else None
        if not shutil.which(command) and beside is not None and beside.is_file():
            command = shlex.quote(str(beside))
        return " ".join([command, *map(shlex.quote, args)])
    try:
        shown: Path | str = path.relative_to(Path.cwd())
    except ValueError:
        shown = path
    return " ".join(["python3", shlex.quote(str(shown)), *map(shlex.quote, args)])


PROGRESS_INTERVAL = 15.0


def progress_interval() -> float:
    """Seconds between progress lines off a terminal (15; ``IMAGEGEN_PROGRESS_SEC`` changes it, from
    0.05 to 3600)."""
    try:
        value = float(os.environ.get("IMAGEGEN_PROGRESS_SEC", PROGRESS_INTERVAL))
    except ValueError:
        return PROGRESS_INTERVAL
    return value if 0.05 <= value <= 3600 else PROGRESS_INTERVAL


def retry_base_seconds() -> float:
    """First back-off delay; tests shorten it with IMAGEGEN_RETRY_BASE_SEC."""
    try:
        return max(0.0, float(os.environ.get("IMAGEGEN_RETRY_BASE_SEC", "1")))
    except ValueError:
        return 1.0
