"""Hostile HTTP: redirects that would carry keys away, replies whose head never ends, image URLs that
point inside the network, JSON too deep to parse, and attempts the ledger must see.

Each test stands up what the provider should not be able to do (``tests/adversarial_servers.py``)
and asserts the promise of README's reliability paragraph: one JSON document, the documented
``error_kind``, and nothing sent where it must not go.
"""

from __future__ import annotations

import errno
import io
import json
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from tests.adversarial_servers import Answer, RawListener, TrickleServer
from tests.conftest import ANTHROPIC_TEST_KEY, OPENAI_TEST_KEY, TEST_KEY, assert_one_json, ledger_entries
from tests.fake_api import Reply, chat_image_reply, error_reply, make_png, make_png_of_size

KEYS = (TEST_KEY, OPENAI_TEST_KEY, ANTHROPIC_TEST_KEY)
PROMPT = "A red fox in snow"
COMMANDS = {
    "chat": ["generate.py", "--prompt", PROMPT, "--model", "nanobanana", "--output-dir", "out"],
    "images": ["generate.py", "--prompt", PROMPT, "--model", "nanobanana", "--api", "images", "--output-dir", "out"],
    "edits": ["edit.py", "--mode", "openai", "--input-image", "in/photo.png", "--prompt", "Add a red hat",
              "--output-dir", "out"],
    "messages": ["review.py", "--image", "in/photo.png", "--original-prompt", PROMPT, "--auto",
                 "--provider", "anthropic", "--no-review-file"],
}


def images_in(workdir: Path) -> list[Path]:
    return [p for p in (workdir / "out").rglob("*") if p.is_file()] if (workdir / "out").exists() else []


def assert_no_key_reached(listener: RawListener) -> None:
    for key in KEYS:
        assert not listener.saw(key), f"the other host received a key: {listener.received}"
    assert not listener.saw(b"\r\nauthorization:") and not listener.saw(b"\r\nx-api-key:")


# -- 1. redirects --------------------------------------------------------------------------------

@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
@pytest.mark.parametrize("route", ["chat", "edits", "messages"])
def test_a_redirected_post_is_an_error_that_names_the_other_host(run, fake, env, workdir, in_photo, route, status):
    stolen = chat_image_reply([make_png(8, 8)]).payload()  # what the other host would like saved as the image
    with RawListener(Answer(body=stolen)) as other:
        fake.enqueue(route, Reply(status=status, headers={"Location": other.url + "/collect"}))
        result = run(*COMMANDS[route], "--retries", "2")
    doc = assert_one_json(result)
    assert result.code == 1 and doc["error_kind"] == "provider_error" and doc["http_status"] == status, doc
    assert f"127.0.0.1:{other.port}" in doc["error"] and doc["retryable"] is False
    assert len(fake.requests_for(route)) == 1  # not retried
    assert other.received == []  # neither the body nor the key went there
    assert images_in(workdir) == []
    (line,) = ledger_entries(env)  # the provider answered: the call is on record
    assert line["outcome"] == "error" and line["cost_usd"] is None


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
@pytest.mark.parametrize("command, route", [(["models.py", "--refresh"], "models"),
                                            (["preflight_check.py", "--online", "--json"], "key")])
def test_a_get_redirected_to_another_origin_never_carries_the_key(run, fake, command, route, status):
    with RawListener(Answer(body=b'{"data": []}')) as other:
        fake.enqueue(route, Reply(status=status, headers={"Location": other.url + "/api/v1/" + route}))
        result = run(*command)
    doc = assert_one_json(result)
    assert result.code == 1, doc
    assert_no_key_reached(other)
    assert other.received == []  # a request with a key is not followed to another origin at all
    text = json.dumps(doc)
    assert f"127.0.0.1:{other.port}" in text and TEST_KEY not in text + result.stderr
    assert len(fake.requests_for(route)) == 1


def test_a_same_origin_get_redirect_is_followed_with_its_key(run, fake):
    fake.enqueue("models", Reply(status=308, headers={"Location": "/api/v1/models?output_modalities=image&v=2"}))
    result = run("models.py", "--refresh")
    doc = assert_one_json(result)
    assert result.code == 0 and doc["refreshed"] is True, doc
    first, second = fake.requests_for("models")
    assert second.query.get("v") == "2" and second.headers["authorization"] == f"Bearer {TEST_KEY}"


def test_same_origin_redirects_are_followed_a_bounded_number_of_times(run, fake):
    loop = Reply(status=302, headers={"Location": "/api/v1/models?output_modalities=image&again=1"})
    fake.enqueue("models", *[loop] * 10)
    result = run("models.py", "--refresh", "--retries", "0")
    doc = assert_one_json(result)
    assert result.code == 1 and doc["error_kind"] == "provider_error" and "redirect" in doc["error"], doc
    assert len(fake.requests_for("models")) == 4  # the request and three redirects


# -- 3. --timeout is a deadline for the whole exchange -------------------------------------------

@pytest.mark.parametrize("command, attempts", [
    (["generate.py", "--prompt", PROMPT, "--output-dir", "out", "--retries", "2"], 1),  # a POST: sent once
    (["models.py", "--refresh", "--retries", "0"], 1),
    (["preflight_check.py", "--online", "--json"], 2),  # its GET is tried twice
])
def test_a_reply_whose_head_trickles_in_ends_at_the_timeout(run, workdir, command, attempts):
    with TrickleServer(interval=0.05) as slow:
        base = {"OPENROUTER_BASE_URL": slow.url + "/api/v1"}
        started = time.monotonic()
        result = run(*command, "--timeout", "0.5", env_extra=base, timeout=30)
        took = time.monotonic() - started
    doc = assert_one_json(result)
    assert took < attempts * 0.5 + 1.5, f"took {took:.1f}s with --timeout 0.5"
    assert slow.requests == attempts
    text = json.dumps(doc)
    assert "timed out after 0.5s" in text, doc
    if command[0] == "generate.py":
        assert doc["error_kind"] == "timeout" and doc["charge_unknown"] is True


def test_the_queue_job_timeout_bounds_a_trickling_head(run, workdir):
    with TrickleServer(interval=0.05) as slow:
        base = {"OPENROUTER_BASE_URL": slow.url + "/api/v1"}
        assert run("enqueue_image_job.py", "--prompt", PROMPT, "--out", "out/a.png", "--queue-dir", "q",
                   env_extra=base).code == 0
        started = time.monotonic()
        result = run("run_image_queue.py", "--queue-dir", "q", "--job-timeout", "0.5", "--idle-exit-sec", "0.05",
                     "--max-attempts", "1", env_extra=base, timeout=30)
        took = time.monotonic() - started
    summary = assert_one_json(result)
    assert took < 0.5 + 2.5 and summary["failed"] == 1, (took, summary)
    (failed,) = (workdir / "q" / "failed").glob("*.json")
    assert json.loads(failed.read_text())["error_kind"] == "timeout"


# -- 11. image URLs in replies meet the baseline URL rules -------------------------------------------

@pytest.mark.parametrize("url, fragment", [
    ("http://169.254.169.254/latest/meta-data/iam", "uses http scheme"),
    ("https://169.254.169.254/latest/meta-data/iam", "link-local"),
    ("https://10.1.2.3/image.png", "private"),
    ("https://[::1]/image.png", "loopback"),
    ("file:///etc/passwd", "uses file scheme"),
])
def test_an_image_url_inside_the_network_is_not_fetched(run, fake, workdir, url, fragment):
    fake.enqueue("images", Reply(json={"created": 1, "data": [{"url": url}]}))
    result = run(*COMMANDS["images"], "--retries", "0")
    doc = assert_one_json(result)
    assert result.code == 1 and doc["error_kind"] == "provider_error", doc
    assert fragment in doc["error"] and "refused" in doc["error"]
    assert images_in(workdir) == []


def test_a_loopback_image_url_off_the_api_host_is_not_fetched(run, fake, workdir):
    with RawListener(Answer(body=make_png(8, 8), content_type="image/png")) as inside:
        fake.enqueue("images", Reply(json={"created": 1, "data": [{"url": f"https://localhost:{inside.port}/x.png"}]}))
        result = run(*COMMANDS["images"], "--retries", "0")
    doc = assert_one_json(result)
    assert result.code == 1 and "localhost" in doc["error"] and "this machine" in doc["error"], doc
    assert inside.received == []


@pytest.mark.parametrize("answer", [
    Answer(status=404, body=b"<html>SECRET-BODY-MARKER internal page</html>", content_type="text/html"),
    Answer(status=500, body=b'{"error": {"message": "SECRET-BODY-MARKER"}}'),
    Answer(status=200, body=b"SECRET-BODY-MARKER is not an image", content_type="image/png"),
])
def test_a_fetched_body_never_reaches_the_error(run, fake, workdir, answer):
    with RawListener(answer) as host:  # the API's own host (127.0.0.1), so the fetch is allowed
        fake.enqueue("chat", chat_image_reply(as_urls=[host.url + "/image.png"]))
        result = run(*COMMANDS["chat"], "--retries", "0")
    doc = assert_one_json(result)
    assert result.code == 1 and doc["error_kind"] == "provider_error", doc
    assert "SECRET-BODY-MARKER" not in result.stdout + result.stderr
    assert_no_key_reached(host)


def test_a_name_that_rebinds_to_loopback_after_the_check_is_not_fetched(run, fake, workdir, monkeypatch):
    """DNS rebinding: the check sees a public address, the connection is made to 127.0.0.1. The
    connected peer is checked too, before a byte (TLS or HTTP) is sent."""
    import socket

    real = socket.getaddrinfo
    answers = iter(["93.184.216.34"])

    def rebinding(host, port, *args, **kwargs):
        if host != "rebind.example":
            return real(host, port, *args, **kwargs)
        address = next(answers, "127.0.0.1")  # public once, for the check; then this machine
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))]

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    with RawListener(Answer(body=make_png(8, 8), content_type="image/png")) as inside:
        fake.enqueue("images", Reply(json={"created": 1, "data": [{"url": f"https://rebind.example:{inside.port}/x.png"}]}))
        result = run(*COMMANDS["images"], "--retries", "0")
    doc = assert_one_json(result)
    assert result.code == 1 and doc["error_kind"] == "provider_error" and doc["retryable"] is False, doc
    assert "127.0.0.1, a loopback address" in doc["error"] and "refused" in doc["error"], doc
    assert not any(raw.strip() for raw in inside.received)
    assert images_in(workdir) == []


def test_an_image_redirect_into_the_network_is_not_followed(run, fake, workdir):
    with RawListener(Answer(status=302, headers=(("Location", "https://169.254.169.254/latest"),))) as host:
        fake.enqueue("chat", chat_image_reply(as_urls=[host.url + "/image.png"]))
        result = run(*COMMANDS["chat"], "--retries", "0")
    doc = assert_one_json(result)
    assert result.code == 1 and "169.254.169.254" in doc["error"] and "link-local" in doc["error"], doc


# -- 12. JSON nested too deep to parse ------------------------------------------------------------

DEEP = b'{"id": "gen-deep", "choices": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"


@pytest.mark.parametrize("route", ["chat", "images", "edits", "messages"])
@pytest.mark.parametrize("status", [200, 500])
def test_json_nested_100000_deep_is_a_provider_error(run, fake, workdir, in_photo, route, status):
    fake.enqueue(route, Reply(status=status, body=DEEP, content_type="application/json"))
    result = run(*COMMANDS[route], "--retries", "0")
    doc = assert_one_json(result)
    assert result.code == 1 and doc["error_kind"] == "provider_error", doc
    assert "RecursionError" not in result.stdout + result.stderr
    if status == 500:
        assert doc["http_status"] == 500


def test_a_model_list_nested_too_deep_is_a_provider_error(run, fake):
    fake.enqueue("models", Reply(body=DEEP, content_type="application/json"))
    result = run("models.py", "--refresh", "--retries", "0")
    doc = assert_one_json(result)
    assert result.code == 1 and doc["error_kind"] == "provider_error", doc


# -- 13. every attempt that reached the provider is on the ledger ---------------------------------

def test_each_retried_5xx_gets_its_own_ledger_line(run, fake, env, workdir):
    fake.enqueue("chat", error_reply(503, "busy"), error_reply(502, "bad gateway"))
    result = run(*COMMANDS["chat"], "--retries", "2")
    assert assert_one_json(result)["success"] is True
    lines = ledger_entries(env)
    assert [(line["outcome"], line["error_kind"]) for line in lines] == [
        ("error", "provider_error"), ("error", "provider_error"), ("success", None)]
    assert len(fake.requests_for("chat")) == 3


def test_a_reset_after_sending_is_on_the_ledger_as_charge_unknown(run, fake, env, workdir):
    fake.enqueue("chat", Reply(reset=True))
    result = run(*COMMANDS["chat"], "--retries", "1")
    assert assert_one_json(result)["success"] is True
    assert [line["outcome"] for line in ledger_entries(env)] == ["charge_unknown", "success"]


def test_resets_after_sending_count_against_the_daily_budget(run, fake, env, workdir):
    fake.enqueue("chat", *[Reply(reset=True)] * 3)
    budget = {"IMAGEGEN_DAILY_BUDGET_USD": "0.1"}  # nanobanana is estimated at $0.039 a call
    first = run(*COMMANDS["chat"], "--retries", "2", env_extra=budget)
    doc = assert_one_json(first)
    assert doc["error_kind"] == "network" and doc["charge_unknown"] is True
    assert [line["outcome"] for line in ledger_entries(env)] == ["charge_unknown"] * 3
    second = run(*COMMANDS["chat"], env_extra=budget)
    assert second.code == 5 and assert_one_json(second)["limit"] == "daily_budget"
    assert len(fake.requests_for("chat")) == 3


# -- 2. a full disk is an output error, paid for once and on the ledger ------------------------------

class _FullRaw(io.RawIOBase):
    """A spool file on a full disk: buffered writes go in, the flush to disk fails with ENOSPC."""

    def writable(self) -> bool:
        return True

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def write(self, data) -> int:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def test_a_full_spool_is_an_output_error_paid_once_and_on_the_ledger(run, fake, env, workdir, monkeypatch):
    monkeypatch.setattr(tempfile, "TemporaryFile", lambda *args, **kwargs: io.BufferedRandom(_FullRaw()))
    budget = {"IMAGEGEN_DAILY_BUDGET_USD": "0.05"}  # room for one call at $0.039
    results = [run(*COMMANDS["chat"], "--retries", "2", env_extra=budget) for _ in range(3)]
    first = assert_one_json(results[0])
    assert results[0].code == 1 and first["error_kind"] == "output", first
    assert "No space left on device" in first["error"] and "free some space" in first["details"]
    assert [r.code for r in results[1:]] == [5, 5]  # the budget counted the first call
    assert len(fake.requests_for("chat")) == 1  # not retried: the disk, not the network, failed
    (line,) = ledger_entries(env)
    assert line["outcome"] == "charge_unknown" and line["error_kind"] == "output" and line["estimate_usd"] == 0.039
    assert images_in(workdir) == []


@pytest.fixture
def small_disk(tmp_path: Path):
    """A 256 KiB tmpfs, where the machine lets this test mount one."""
    folder = tmp_path / "small"
    folder.mkdir()
    if not hasattr(os, "geteuid") or os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a small tmpfs needs root and mount(8); the injected-ENOSPC test covers the code path")
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(folder)],
                             capture_output=True, text=True, check=False)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({mounted.stderr.strip()}); the injected-ENOSPC test covers it")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], capture_output=True, check=False)


@pytest.mark.subprocess
def test_a_really_full_disk_is_an_output_error_paid_once(run, fake, env, workdir, small_disk):
    fake.default_image_bytes = make_png_of_size(1024 * 1024)  # 1.3 MB of base64 for a 256 KiB disk
    result = run(*COMMANDS["chat"][:-1], str(small_disk), "--retries", "2")
    doc = assert_one_json(result)
    assert result.code == 1 and doc["error_kind"] == "output" and "No space left" in doc["error"], doc
    assert len(fake.requests_for("chat")) == 1
    (line,) = ledger_entries(env)
    assert line["outcome"] == "charge_unknown"
    assert [p.name for p in small_disk.iterdir()] == []
