"""A prepared provider request: what one endpoint module hands the pipeline to send (or to show).

Only endpoint modules build a :class:`Call`; only ``pipeline.paid_call`` sends one. The key is
asked for at send time, so ``--dry-run`` needs none.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import ProviderError
from ..record import Record

if TYPE_CHECKING:
    from ..http.client import HttpClient, Response
    from ..http.multipart import FilePart
    from .replies import ProviderReply

_DATA_URL_HEAD = 24
_BASE64_KEYS = frozenset({"data", "b64_json"})
_BASE64_STUB_OVER = 200


class Call(Record):
    """One request to one endpoint: JSON ``body`` or a multipart form (``fields`` and ``files``)."""

    provider: str  # whose key it needs: openrouter, openai, anthropic
    url: str
    headers: Callable[[], dict[str, str]]  # reads the key when called
    parse: Callable[[Response], ProviderReply]
    body: dict[str, Any] | None = None
    fields: tuple[tuple[str, str], ...] = ()
    files: tuple[FilePart, ...] = ()
    refine: Callable[[ProviderError], ProviderError] | None = None  # reads a failed status's body

    def send(self, client: HttpClient, spool_dir: Path | None = None) -> ProviderReply:
        """Send once through ``client`` (its retries apply) and read the reply."""
        try:
            return self.parse(self._post(client, spool_dir))
        except ProviderError as error:
            refined = self.read_failure(error)
            if refined is error:
                raise
            raise refined from None

    def read_failure(self, error: ProviderError) -> ProviderError:
        """``error`` as the endpoint's provider defines it (read from the body it kept), or unchanged.
        The result remembers the error it was read from (``refined_from``), so a caller that has
        already recorded that one knows it."""
        if error.body is None or self.refine is None:
            return error
        refined = self.refine(error)
        refined.refined_from = error
        return refined

    def _post(self, client: HttpClient, spool_dir: Path | None) -> Response:
        if self.body is not None:
            return client.post_json(self.url, self.body, self.headers(), spool_dir=spool_dir)
        from ..http import multipart

        content_type, chunks, length = multipart.encode(list(self.fields), list(self.files))
        return client.post_multipart(self.url, content_type, chunks, length, self.headers(), spool_dir=spool_dir)

    def display(self) -> dict[str, Any]:
        """The request as ``--dry-run`` prints it: images shortened, no key."""
        if self.body is not None:
            return {"method": "POST", "url": self.url, "body": shorten_images(self.body)}
        files = [{"field": f.field, "filename": f.filename, "content_type": f.content_type, "bytes": len(f.data)}
                 for f in self.files]
        return {"method": "POST", "url": self.url, "content_type": "multipart/form-data",
                "fields": dict(self.fields), "files": files}


def shorten_images(value: Any) -> Any:
    """A copy of a request body fit to print: data URLs and base64 shortened to a stub."""
    if isinstance(value, dict):
        return {k: _stub(v) if k in _BASE64_KEYS and isinstance(v, str) and len(v) > _BASE64_STUB_OVER
                else shorten_images(v) for k, v in value.items()}
    if isinstance(value, list):
        return [shorten_images(v) for v in value]
    if isinstance(value, str) and value.startswith("data:"):
        head, comma, data = value.partition(",")
        if comma and head.endswith(";base64") and ";" in head and len(data) > _DATA_URL_HEAD:
            return f"{head},{data[:_DATA_URL_HEAD]}…({len(value)} chars)"
    return value


def _stub(text: str) -> str:
    return f"{text[:_DATA_URL_HEAD]}…({len(text)} chars)"
