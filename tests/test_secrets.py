"""No API key in any output or file, whatever the provider sends back.

Every script runs with marker keys (conftest's TEST_KEY, OPENAI_TEST_KEY, ANTHROPIC_TEST_KEY) against
the loopback fake: succeeding, under --dry-run, and failing in the ways that put the key within
reach of our output: a 401 whose message echoes the key the provider received (as real providers
partly do), an HTTP 200 error body and a model's own text quoting it. After each scenario stdout,
stderr and every file under the test's directory tree are scanned for the keys: images and their
PNG metadata, sidecars, review files, queue jobs, leases and worker logs, the spending ledger,
variant manifests, the gallery page and the model cache.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import ANTHROPIC_TEST_KEY, OPENAI_TEST_KEY, TEST_KEY, Run
from tests.fake_api import (
    Recorded,
    Reply,
    anthropic_error_reply,
    chat_image_reply,
    chat_text_only_reply,
    error_reply,
    make_png,
    messages_reply,
    openai_error_reply,
    openrouter_text_reply,
    review_text,
)

KEYS = (TEST_KEY, OPENAI_TEST_KEY, ANTHROPIC_TEST_KEY)
QUEUE = "q"
FAST = ("--timeout", "5", "--retries", "0")


def sent_key(record: Recorded) -> str:
    """The key as the provider received it (Bearer token or x-api-key)."""
    value = record.headers.get("authorization") or record.headers.get("x-api-key") or ""
    return value.removeprefix("Bearer ")


def echo_401(record: Recorded) -> Reply:
    text = f"Incorrect API key provided: {sent_key(record)}. You can find your key in your settings."
    if record.route == "edits":
        return openai_error_reply(401, text)
    if record.route == "messages":
        return anthropic_error_reply(401, text)
    return error_reply(401, text)


def echo_in_200_error(record: Recorded) -> Reply:
    return Reply(json={"error": {"code": 500, "message": f"internal failure for key {sent_key(record)}"}})


def echo_in_model_text(record: Recorded) -> Reply:
    return chat_text_only_reply(f"I will not draw that. Your key is {sent_key(record)}.", native_finish_reason="STOP")


def echo_in_image_reply(record: Recorded) -> Reply:
    return chat_image_reply([make_png(8, 8)], text=f"Here it is, {sent_key(record)}")


def echo_in_review(record: Recorded) -> Reply:
    text = review_text(critique=f"Good work, owner of {sent_key(record)}.",
                       suggested_refinement=f"use {sent_key(record)} again")
    if record.route == "messages":
        return messages_reply(text)
    return openrouter_text_reply(text)


def echo_in_broken_json(record: Recorded) -> Reply:
    return Reply(body=f"<html>proxy error for {sent_key(record)}</html>".encode(), content_type="text/html")


@pytest.fixture
def photo(workdir: Path) -> Path:
    path = workdir / "photo.png"
    path.write_bytes(make_png(32, 32))
    return path


Scenario = Callable[..., list[Run]]


def generate_runs(run, fake, workdir):
    out = []
    out.append(run("generate.py", "--prompt", "A red fox in snow", "--model", "nanobanana", *FAST))
    out.append(run("generate.py", "--prompt", "A red fox in snow", "--dry-run", "--enhance"))
    for reply in (echo_401, echo_in_200_error, echo_in_model_text, echo_in_image_reply, echo_in_broken_json):
        fake.enqueue("chat", reply)
        out.append(run("generate.py", "--prompt", "A red fox in snow", "--model", "nanobanana", *FAST))
    fake.enqueue("images", echo_401)
    out.append(run("generate.py", "--prompt", "A red fox", "--api", "images", *FAST))
    fake.enqueue("chat", echo_401)
    out.append(run("generate.py", "--prompt", "A red fox in snow", "--enhance", *FAST))  # the enhancer fails
    return out


def generate_image_runs(run, fake, workdir):
    fake.enqueue("chat", echo_401)
    return [run("generate_image.py", "--prompt", "A lighthouse at dusk", *FAST),
            run("generate_image.py", "--prompt", "A lighthouse at dusk", "--out", "l.png", *FAST),
            run("generate_image.py", "--prompt", "A lighthouse at dusk", "--dry-run")]


def edit_runs(run, fake, workdir, photo):
    out = []
    base = ("edit.py", "--input-image", str(photo), "--prompt", "Add a red hat")
    out.append(run(*base, "--mode", "openai", "--mask-rect", "0,0,8,8", *FAST))
    out.append(run(*base, "--mode", "openai", "--dry-run"))
    fake.enqueue("edits", echo_401)
    out.append(run(*base, "--mode", "openai", *FAST))
    fake.enqueue("edits", echo_in_200_error)
    out.append(run(*base, "--mode", "openai", *FAST))
    out.append(run(*base, "--mode", "openrouter", *FAST))
    fake.enqueue("chat", echo_401)
    out.append(run(*base, "--mode", "openrouter", *FAST))
    return out


def review_runs(run, fake, workdir, photo):
    out = []
    base = ("review.py", "--image", str(photo), "--original-prompt", "A red fox")
    out.append(run(*base))
    out.append(run(*base, "--auto", "--dry-run"))
    for provider, route in (("anthropic", "messages"), ("openrouter", "chat")):
        fake.enqueue(route, echo_in_review)
        out.append(run(*base, "--auto", "--provider", provider, *FAST))
        fake.enqueue(route, echo_401)
        out.append(run(*base, "--auto", "--provider", provider, *FAST))
        fake.enqueue(route, echo_in_200_error)
        out.append(run(*base, "--auto", "--provider", provider, *FAST))
    return out


def queue_runs(run, fake, workdir):
    out = []
    out.append(run("enqueue_image_job.py", "--prompt", "A crab poster", "--out", "o/crab-1.png", "--request-id", "r1",
                   "--queue-dir", QUEUE))
    out.append(run("enqueue_image_job.py", "--prompt", "A crab poster", "--out", "o/crab-2.png", "--request-id", "r1",
                   "--queue-dir", QUEUE))
    out.append(run("enqueue_variants.py", "--prompt", "A snow crab logo", "--count", "2", "--request-id", "r2",
                   "--out-dir", "o", "--prefix", "logo", "--queue-dir", QUEUE))
    out.append(run("queue_and_return.py", "--prompt", "A crab", "--request-id", "r3", "--out-dir", "o",
                   "--prefix", "crab", "--queue-dir", QUEUE, "--dry-run-worker"))
    fake.enqueue("chat", echo_401, echo_in_model_text, echo_in_200_error)
    out.append(run("run_image_queue.py", "--queue-dir", QUEUE, "--idle-exit-sec", "0.05", "--concurrency", "1",
                   "--retries", "0", "--max-attempts", "1"))
    for request in ("r1", "r2", "r3"):
        out.append(run("queue_status.py", "--queue-dir", QUEUE, "--request-id", request))
    out.append(run("queue_status.py", "--queue-dir", QUEUE))
    # A detached worker writes its log under the queue: let one run and wait for it to finish.
    fake.enqueue("chat", echo_401)
    out.append(run("queue_and_return.py", "--prompt", "A crab", "--request-id", "r4", "--out-dir", "o",
                   "--prefix", "late", "--queue-dir", QUEUE, "--max-attempts", "1"))
    out.append(run("queue_status.py", "--queue-dir", QUEUE, "--request-id", "r4", "--wait", "--timeout", "30"))
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and any((workdir / QUEUE / "workers").glob("w-*.lock")):
        time.sleep(0.1)
    out.append(run("gallery.py", "--queue-dir", QUEUE, "--request-id", "r2"))
    out.append(run("gallery.py", "--dir", "o"))
    out.append(run("spend.py"))
    out.append(run("spend.py", "--table"))
    return out


def preflight_runs(run, fake, workdir):
    out = [run("preflight_check.py", "--json"), run("preflight_check.py", "--json", "--online"),
           run("preflight_check.py")]
    fake.enqueue("key", echo_401)
    out.append(run("preflight_check.py", "--json", "--online"))
    fake.enqueue("key", echo_in_broken_json)
    out.append(run("preflight_check.py", "--json", "--online", "--timeout", "5"))
    return out


def models_runs(run, fake, workdir):
    out = [run("models.py", "--refresh", "--retries", "0"), run("models.py", "--table"),
           run("models.py", "--alias", "nanobanana")]
    fake.enqueue("models", echo_401)
    out.append(run("models.py", "--refresh", "--retries", "0"))
    fake.enqueue("models", echo_in_200_error)
    out.append(run("models.py", "--refresh", "--retries", "0"))
    return out


SCENARIOS = {
    "generate": generate_runs,
    "generate_image": generate_image_runs,
    "edit": edit_runs,
    "review": review_runs,
    "queue": queue_runs,
    "preflight": preflight_runs,
    "models": models_runs,
}


def leaks_in(data: bytes) -> list[str]:
    return [key for key in KEYS if key.encode() in data]


@pytest.mark.subprocess  # what an agent sees: real processes, the interpreter's own stderr too
@pytest.mark.parametrize("name", SCENARIOS)
def test_no_key_in_any_output_or_file(run, fake, workdir, photo, tmp_path, name):
    scenario = SCENARIOS[name]
    needs_photo = "photo" in scenario.__code__.co_varnames[: scenario.__code__.co_argcount]
    results = scenario(run, fake, workdir, photo) if needs_photo else scenario(run, fake, workdir)
    assert results and fake.requests or name == "queue", "the scenario must reach the fake"
    # The fake really did receive the keys (otherwise the scan below proves nothing).
    received = {sent_key(r) for r in fake.requests}
    assert received & set(KEYS), received
    leaks = []
    for number, result in enumerate(results):
        assert "Traceback" not in result.stderr, (number, result.stderr)
        for stream, text in (("stdout", result.stdout), ("stderr", result.stderr)):
            for line in text.splitlines():
                if leaks_in(line.encode()):
                    leaks.append(f"run {number} {stream}: {line.strip()[:160]}")
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert files
    leaks += [f"file {p.relative_to(tmp_path)}" for p in files if leaks_in(p.read_bytes())]
    assert not leaks, "\n".join(leaks)


def test_echoed_keys_are_really_echoed(fake):
    """The echo replies above do carry the key: a scan that found nothing would otherwise be meaningless."""
    import json
    import urllib.request

    fake.enqueue("chat", echo_401)
    body = json.dumps({"model": "x/y", "messages": [{"role": "user", "content": "hi"}]}).encode()
    request = urllib.request.Request(fake.openrouter_url + "/chat/completions", data=body, method="POST",
                                     headers={"Authorization": f"Bearer {TEST_KEY}"})
    try:
        urllib.request.urlopen(request, timeout=5)
    except urllib.error.HTTPError as error:
        assert TEST_KEY in json.loads(error.read())["error"]["message"]
    else:
        raise AssertionError("expected a 401")
