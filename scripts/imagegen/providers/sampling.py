"""Sampling parameters (``temperature``, ``top_p``, ``top_k``) and the models that refuse them.

Claude Sonnet 5 and Claude Opus 4.7 and later answer any of them with HTTP 400
``{"type": "error", "error": {"type": "invalid_request_error", "message": "`temperature` is
deprecated for this model."}}`` (OpenRouter passes the same body through in
``error.metadata.raw``). Such a 400 is not charged. Bodies for the models known to refuse them
carry none; for any other model, a 400 that names one of them is answered by sending the call
once more without it (:func:`rejected_parameter`, :func:`without`).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..errors import ProviderError
    from .call import Call

_CLAUDE = re.compile(r"(?:^|/)claude-(opus|sonnet|haiku)-(\d+)(?:[-.](\d{1,2})(?!\d))?")
_REJECTED = re.compile(r"`?\b(temperature|top_p|top_k)\b`?\s*(?:is|are)?\s*(?:deprecated|not supported|unsupported|"
                       r"not allowed|not permitted|no longer supported)|(?:unsupported|unknown|unrecognized) "
                       r"(?:parameter|argument)s?:?\s*['\"`]?(temperature|top_p|top_k)\b", re.IGNORECASE)


def rejects_sampling(model: str) -> bool:
    """Whether ``model`` (an Anthropic id, or ``anthropic/...`` on OpenRouter) is known to refuse sampling
    parameters: Claude 5 and later, and Claude Opus 4.7 and later."""
    found = _CLAUDE.search(model.strip().lower())
    if found is None:
        return False
    family, major, minor = found[1], int(found[2]), int(found[3] or 0)
    return major >= 5 or (family == "opus" and (major, minor) >= (4, 7))


def sampling(model: str, **values: Any) -> dict[str, Any]:
    """``values`` (temperature=0, ...) for a model that takes them; nothing for one known to refuse them."""
    return {} if rejects_sampling(model) else dict(values)


def rejected_parameter(error: ProviderError, body: dict[str, Any] | None) -> str | None:
    """The sampling parameter ``body`` sent that ``error`` (an HTTP 400) says the model refuses, or None."""
    if error.status != 400 or error.kind != "bad_request" or not isinstance(body, dict):
        return None
    words = " ".join(str(part) for part in (error.message, error.provider_message, error.extra.get("upstream_reason"))
                     if part)
    for found in _REJECTED.finditer(words):
        name = (found[1] or found[2]).lower()
        if name in body:
            return name
    return None


def without(call: Call, name: str) -> Call:
    """``call`` with ``name`` left out of its JSON body."""
    assert call.body is not None
    return call._replace(body={key: value for key, value in call.body.items() if key != name})
