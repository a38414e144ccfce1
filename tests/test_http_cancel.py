"""A cancelled caller breaks off a request that pays for nothing, at every stage of its exchange;
a request that may be billed (a POST sent whole) runs to its end; a client without a cancellation
(the CLI's) waits as it always did.

In process, against the hostile listeners of ``adversarial_servers``: each test waits on events,
never on a clock; the only bound is a generous one on how long a cancelled request may linger.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from scripts.imagegen.errors import ProviderError
from scripts.imagegen.http.client import HttpClient
from scripts.imagegen.http.transport import Exchange
from tests.adversarial_servers import Answer, RawListener, StallServer, full_listener

LINGER = 5.0  # seconds a cancelled request may take to end (it takes about transport.SLICE)
HEAD = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 40\r\n\r\n"


class Running:
    """A request on its own thread, with what it ended in."""

    def __init__(self, send) -> None:
        self.outcome: Any = None
        self.thread = threading.Thread(target=self._run, args=(send,), daemon=True)
        self.thread.start()

    def _run(self, send) -> None:
        try:
            self.outcome = send()
        except Exception as error:  # the test reads it
            self.outcome = error

    def ended(self, timeout: float = LINGER) -> Any:
        self.thread.join(timeout)
        assert not self.thread.is_alive(), "the request was not broken off"
        return self.outcome


def client_of(monkeypatch, url: str, cancel: threading.Event | None) -> HttpClient:
    monkeypatch.setenv("OPENROUTER_BASE_URL", url + "/api/v1")  # a configured API: loopback is allowed
    return HttpClient(timeout=120, retries=2, verbose=False, cancelled=cancel.is_set if cancel else None)


def assert_interrupted(outcome: Any) -> None:
    assert isinstance(outcome, ProviderError), outcome
    assert outcome.kind == "interrupted" and not outcome.charge_unknown and not outcome.resend
    assert "cancelled while waiting for 127.0.0.1" in outcome.message


@pytest.mark.parametrize("first", [b"", HEAD[:30], HEAD + b'{"data": ['], ids=["status line", "headers", "body"])
def test_a_cancelled_get_is_broken_off_while_it_waits_for_the_reply(monkeypatch, first):
    cancel = threading.Event()
    with StallServer(first) as server:
        client = client_of(monkeypatch, server.url, cancel)
        running = Running(lambda: client.get(server.url + "/api/v1/models"))
        assert server.got.wait(LINGER)
        cancel.set()
        assert_interrupted(running.ended())
        assert server.connections == 1  # not sent again


def test_a_cancelled_request_is_broken_off_while_its_body_is_sent(monkeypatch):
    """A body far larger than the socket buffers, to a peer that reads nothing: the send stalls."""
    cancel = threading.Event()
    with StallServer(read=False) as server:
        client = client_of(monkeypatch, server.url, cancel)
        running = Running(lambda: client.post_bytes(server.url + "/api/v1/files", b"x" * (64 << 20),
                                                    {"Content-Type": "application/octet-stream"}))
        assert server.got.wait(LINGER)
        cancel.set()
        assert_interrupted(running.ended())


def test_a_cancelled_request_is_broken_off_in_its_tls_handshake(monkeypatch):
    """A peer that accepts and never answers the ClientHello: the handshake stalls."""
    cancel = threading.Event()
    with StallServer(read=False) as server:
        url = server.url.replace("http://", "https://")
        client = client_of(monkeypatch, url, cancel)
        running = Running(lambda: client.get(url + "/api/v1/models"))
        assert server.got.wait(LINGER)
        running.thread.join(0.2)
        assert running.thread.is_alive()
        cancel.set()
        assert_interrupted(running.ended())


def test_a_cancelled_request_is_broken_off_while_it_connects(monkeypatch):
    staged = full_listener()
    if staged is None:
        pytest.skip("this system completes connects to a full backlog")
    listener, held = staged
    try:
        url = f"http://127.0.0.1:{listener.getsockname()[1]}"
        cancel = threading.Event()
        client = client_of(monkeypatch, url, cancel)
        running = Running(lambda: client.get(url + "/api/v1/models"))
        running.thread.join(0.3)  # let it start connecting (it cannot finish: nothing is accepted)
        assert running.thread.is_alive()
        cancel.set()
        assert_interrupted(running.ended())
    finally:
        for sock in [listener, *held]:
            sock.close()


def test_a_request_cancelled_before_it_starts_is_never_sent(monkeypatch):
    cancel = threading.Event()
    cancel.set()
    with StallServer() as server:
        client = client_of(monkeypatch, server.url, cancel)
        assert_interrupted(Running(lambda: client.get(server.url + "/api/v1/models")).ended())
        assert server.connections == 0


def test_a_cancellation_ends_the_wait_before_a_retry(monkeypatch):
    """A 503 asking for 30 s: the back-off ends at the cancellation and no second attempt is sent."""
    cancel = threading.Event()
    with RawListener(Answer(503, b'{"error": {"message": "busy"}}', headers=(("Retry-After", "30"),))) as server:
        client = client_of(monkeypatch, server.url, cancel)
        running = Running(lambda: client.get(server.url + "/api/v1/models"))
        deadline = time.monotonic() + LINGER
        while not server.received:
            assert time.monotonic() < deadline and running.thread.is_alive()
            time.sleep(0.01)
        cancel.set()
        assert_interrupted(running.ended())
        assert len(server.received) == 1


def test_a_post_sent_whole_runs_to_its_end_whatever_the_cancellation(monkeypatch):
    """Once a POST's body is out the provider may bill it: the reply is awaited, as for a paid call."""
    cancel = threading.Event()
    reply = Answer(body=b'{"ok": true}').encode()
    with StallServer(rest=reply) as server:
        client = client_of(monkeypatch, server.url, cancel)
        running = Running(lambda: client.post_json(server.url + "/api/v1/chat/completions", {"a": 1}, {}))
        assert server.got.wait(LINGER)
        cancel.set()
        running.thread.join(0.5)  # many slices: a cancellation that could break it off would have
        assert running.thread.is_alive()
        server.release.set()
        response = running.ended()
        assert response.status == 200 and response.json() == {"ok": True}


def test_without_a_cancellation_an_exchange_waits_as_before():
    """The CLI's clients (and the paid-call path) have no cancellation: each wait is what is left."""
    assert HttpClient().cancelled is None
    exchange = Exchange(30.0)
    assert not exchange.abortable()
    assert exchange.slice() > 29
    exchange.check()  # never raises
    recallable = Exchange(30.0, lambda: True, recallable=False)
    recallable.sent = True
    assert not recallable.abortable()  # a POST sent whole
