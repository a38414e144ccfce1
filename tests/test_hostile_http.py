"""Hostile HTTP: redirects that would carry keys away, replies whose head never ends, image URLs that
point inside the network, JSON too deep to parse, and attempts the ledger must see.

Each test stands up what the provider should not be able to do (``tests/adversarial_servers.py``)
and asserts the promise of README's reliability paragraph: one JSON document, the documented
``error_kind``, and nothing sent where it must not go.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from tests.adversarial_servers import Answer, RawListener, TrickleServer
from tests.conftest import ANTHROPIC_TEST_KEY, OPENAI_TEST_KEY, TEST_KEY, assert_one_json
from tests.fake_api import Reply, chat_image_reply, error_reply, make_png

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


@pytest.fixture
def photo(workdir: Path) -> Path:
    path = workdir / "in" / "photo.png"
    path.parent.mkdir()
    path.write_bytes(make_png(32, 32))
    return path


def ledger(env: dict[str, str]) -> list[dict]:
    path = Path(env["XDG_STATE_HOME"]) / "image-gen" / "ledger.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def images_in(workdir: Path) -> list[Path]:
    return [p for p in (workdir / "out").rglob("*") if p.is_file()] if (workdir / "out").exists() else []


def assert_no_key_reached(listener: RawListener) -> None:
    for key in KEYS:
        assert not listener.saw(key), f"the other host received a key: {listener.received}"
    assert not listener.saw(b"\r\nauthorization:") and not listener.saw(b"\r\nx-api-key:")


# -- 1. redirects --------------------------------------------------------------------------------

@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
@pytest.mark.parametrize("route", ["chat", "edits", "messages"])
def test_a_redirected_post_is_an_error_that_names_the_other_host(run, fake, env, workdir, photo, route, status):
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
    (line,) = ledger(env)  # the provider answered: the call is on record
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
    loop = Reply(status=302, headers={"Location": "/api/v1/models?again=1"})
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
        result = run(*command, "--timeout", "1", env_extra=base, timeout=30)
        took = time.monotonic() - started
    doc = assert_one_json(result)
    assert took < attempts * 1 + 1.5, f"took {took:.1f}s with --timeout 1"
    assert slow.requests == attempts
    text = json.dumps(doc)
    assert "timed out after 1s" in text, doc
    if command[0] == "generate.py":
        assert doc["error_kind"] == "timeout" and doc["charge_unknown"] is True


def test_the_queue_job_timeout_bounds_a_trickling_head(run, workdir):
    with TrickleServer(interval=0.05) as slow:
        base = {"OPENROUTER_BASE_URL": slow.url + "/api/v1"}
        assert run("enqueue_image_job.py", "--prompt", PROMPT, "--out", "out/a.png", "--queue-dir", "q",
                   env_extra=base).code == 0
        started = time.monotonic()
        result = run("run_image_queue.py", "--queue-dir", "q", "--job-timeout", "1", "--idle-exit-sec", "0.05",
                     "--max-attempts", "1", env_extra=base, timeout=30)
        took = time.monotonic() - started
    summary = assert_one_json(result)
    assert took < 1 + 2.5 and summary["failed"] == 1, (took, summary)
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
def test_json_nested_100000_deep_is_a_provider_error(run, fake, workdir, photo, route, status):
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
