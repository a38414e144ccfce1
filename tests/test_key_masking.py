"""Keys and credentials never reach a sink, even echoed in part; provider text never drives a terminal.

The one masking function is ``config.redact``: every key, every run of 12 or more characters of
one, and the ``user:password@`` of any URL. ``progress.terminal_text`` adds escaping of control
characters for stderr. Scenarios put a key (whole, and less a few characters) and ANSI escapes
in provider replies, then scan stdout, stderr, worker logs, queue records, status and the gallery.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from imagegen.models.table import RETIRED_NOTES
from tests.conftest import TEST_KEY, assert_one_json
from tests.fake_api import chat_error_in_200_reply, chat_image_reply, error_reply

QUEUE = "q"
FRAGMENT = 12
HOSTILE = "\x1b[2J\x1b[31mRED\r\x07"  # clear the screen, recolour, rewrite the line, ring the bell
FORGED = "\n[9|9] ok forged.png"  # no slash: a progress line shows a path's last part


def fragments(text: str, key: str = TEST_KEY) -> list[str]:
    """Every run of FRAGMENT characters of ``key`` that ``text`` holds."""
    return sorted({key[i:i + FRAGMENT] for i in range(len(key) - FRAGMENT + 1) if key[i:i + FRAGMENT] in text})


def assert_clean(text: str, where: str) -> None:
    assert fragments(text) == [], (where, fragments(text), text[:2000])


def assert_terminal_safe(text: str, where: str) -> None:
    assert_clean(text, where)
    assert "\x1b" not in text and "\r" not in text and "\x07" not in text, (where, text)
    assert not any(line.startswith("[9|9] ok forged") for line in text.splitlines()), (where, text)


# -- the rule -----------------------------------------------------------------------------------

KEY = "sk-or-v1" + "-4f1d2c9a8b7e6d5c4b3a29180f7e6d5c4b3a2918"  # a fake, in the shape of a real key


@pytest.fixture
def with_key(monkeypatch):
    from imagegen import config

    monkeypatch.setenv("OPENROUTER_API_KEY_IMAGES", KEY)
    return config.redact


# Ids name the cases: a key in a test id would land in pytest's cache, in the shape of a real key.
@pytest.mark.parametrize("shown", [KEY, KEY[3:], KEY[:-4], KEY[5:5 + FRAGMENT], KEY[20:], f"{KEY}{KEY[2:30]}"],
                         ids=["whole", "less-its-head", "less-its-tail", "a-fragment", "its-end", "twice-overlapping"])
def test_a_key_echoed_whole_or_in_part_is_masked(with_key, shown):
    masked = with_key(f"Incorrect API key provided: {shown}. See your settings.")
    assert fragments(masked, KEY) == [] and masked.startswith("Incorrect API key provided: ***")
    assert masked.endswith(". See your settings.")


@pytest.mark.parametrize("text", [
    "sk-or-v1-... is the prefix of every OpenRouter key",  # 9 characters: a vendor's prefix is not a key
    f"a short piece {KEY[10:10 + FRAGMENT - 1]} stays",  # 11 characters of a key are not masked
    "A lighthouse at dusk, watercolour, 4f1d2c sunset",
    "mail me at someone@example.com or see https://example.com/a?b=c@d",
], ids=["vendor-prefix", "short-piece", "prose", "mail-and-url"])
def test_ordinary_text_is_left_alone(with_key, text):
    assert with_key(text) == text


@pytest.mark.parametrize("url", ["https://user:s3cret-pass@proxy.example/api/v1",
                                 "http://s3cret-pass@127.0.0.1:8080/v1", "HTTPS://u:s3cret-pass@h/"])
def test_credentials_in_a_url_are_masked(with_key, url):
    masked = with_key(f"could not connect to {url}: refused")
    assert "s3cret-pass" not in masked and "***@" in masked


def test_terminal_text_escapes_control_characters(with_key):
    from imagegen.progress import terminal_text

    shown = terminal_text(f"boom {HOSTILE} {KEY[4:]}{FORGED}")
    assert shown == "boom \\x1b[2J\\x1b[31mRED\\x0d\\x07 ***\\x0a[9|9] ok forged.png"


# -- the sinks ----------------------------------------------------------------------------------

def hostile_replies(fake) -> None:
    """A retryable 200 error quoting the key, then a 500 quoting it less four characters; both with escapes."""
    fake.enqueue("chat", chat_error_in_200_reply(f"upstream failed for {TEST_KEY} {HOSTILE}{FORGED}"),
                 error_reply(500, f"bad key {TEST_KEY[4:]} {HOSTILE}{FORGED}"))


def test_worker_progress_records_status_and_gallery_are_masked(run, fake, workdir):
    assert_one_json(run("enqueue_image_job.py", "--prompt", "A crab poster", "--out", "o/crab.png",
                        "--request-id", "r1", "--queue-dir", QUEUE))
    hostile_replies(fake)
    drained = run("run_image_queue.py", "--queue-dir", QUEUE, "--idle-exit-sec", "0.05", "--retries", "0",
                  "--max-attempts", "2")
    assert assert_one_json(drained)["failed"] == 1
    assert "deferred" in drained.stderr
    assert_terminal_safe(drained.stderr, "worker stderr")
    assert_clean(drained.stdout, "worker stdout")
    record = (workdir / QUEUE / "failed" / "r1--0000.json").read_text()
    assert "bad key ***" in record
    assert_clean(record, "failed record")
    status = run("queue_status.py", "--queue-dir", QUEUE, "--request-id", "r1")
    assert_clean(status.stdout, "status")
    gallery = assert_one_json(run("gallery.py", "--queue-dir", QUEUE, "--request-id", "r1"))
    assert_clean(Path(gallery["path"]).read_text(), "gallery")


def test_a_detached_workers_log_is_masked(run, fake, workdir):
    hostile_replies(fake)
    ack = assert_one_json(run("queue_and_return.py", "--prompt", "A crab", "--request-id", "r4", "--out-dir", "o",
                              "--prefix", "late", "--queue-dir", QUEUE, "--max-attempts", "2"))
    assert ack["worker"]["state"] == "spawned"
    assert_one_json(run("queue_status.py", "--queue-dir", QUEUE, "--request-id", "r4", "--wait", "--timeout", "30"))
    log_path, deadline = Path(ack["worker"]["log"]), time.monotonic() + 15
    while "[1/1]" not in log_path.read_text() and time.monotonic() < deadline:  # its last progress line
        time.sleep(0.05)
    log = log_path.read_text()
    assert "deferred" in log and "[1/1]" in log
    assert_terminal_safe(log, "worker log")


def test_stderr_notes_escape_provider_text(run, fake, workdir):
    fake.enqueue("chat", error_reply(400, f"refused {HOSTILE} {TEST_KEY[:-3]}{FORGED}"))  # the enhancer's call
    result = run("generate.py", "--prompt", "A red fox in snow", "--model", "nanobanana", "--enhance",
                 "--retries", "0", "--output-dir", "o")
    doc = assert_one_json(result)
    assert doc["image_count"] == 1 and "prompt enhancement failed" in result.stderr
    assert_terminal_safe(result.stderr, "stderr")
    assert_clean(result.stdout, "stdout")


def test_a_key_in_a_reply_id_is_masked_in_every_sink_we_write(run, fake, workdir):
    fake.enqueue("chat", chat_image_reply(gen_id=f"gen-{TEST_KEY[2:]}"))
    result = run("generate.py", "--prompt", "A red fox in snow", "--model", "nanobanana", "--output-file", "o/f.png")
    doc = assert_one_json(result)
    assert doc["generation_id"] == "gen-***" and doc["warnings"] == [RETIRED_NOTES["google/gemini-2.5-flash-image"]]
    assert_clean(result.stdout + result.stderr, "run")
    assert_clean((workdir / "o/f.png.json").read_text(), "sidecar")
    assert fragments((workdir / "o/f.png").read_bytes().decode("latin-1")) == []


def test_a_key_in_a_reply_id_is_masked_in_the_ledger(run, fake, workdir, env):
    fake.enqueue("chat", chat_image_reply(gen_id=f"gen-{TEST_KEY[2:]}"))
    doc = assert_one_json(run("generate.py", "--prompt", "A red fox in snow", "--model", "nanobanana"))
    assert doc["warnings"] == [RETIRED_NOTES["google/gemini-2.5-flash-image"]]
    ledger = Path(env["XDG_STATE_HOME"]) / "image-gen" / "ledger.jsonl"
    assert_clean(ledger.read_text(), "ledger")


def test_credentials_in_a_base_url_never_show(run, fake, workdir):
    url = fake.openrouter_url.replace("://", "://user:s3cret-pass@")
    extra = {"OPENROUTER_BASE_URL": url}
    outputs = [run("generate.py", "--prompt", "A red fox in snow", "--dry-run", env_extra=extra),
               run("preflight_check.py", "--json", env_extra=extra),
               run("generate.py", "--prompt", "A red fox in snow", "--retries", "0", "--timeout", "5",
                   env_extra=extra)]
    assert "user:s3cret-pass@" in url and outputs[0].json["request"]["url"].startswith("http")
    assert outputs[0].json["warnings"] == []
    for result in outputs:
        assert "Traceback" not in result.stderr
        assert "s3cret-pass" not in result.stdout + result.stderr, result.stdout + result.stderr
