"""Messages as people and agents read them (issue 13, point 7): details say what to do and the provider's
own words go to provider_message; a mistyped flag is named first; installed commands name themselves;
a usage error also prints one line on stderr."""

from __future__ import annotations

import json
import sys

import pytest

from tests.conftest import TEST_KEY, assert_one_json
from tests.fake_api import error_reply, html_reply, openai_error_reply

PROMPT = ("--prompt", "A red fox in snow, telephoto photo")


@pytest.mark.parametrize("reply, kind, words", [
    (error_reply(401, "User not found."), "auth", "User not found."),
    (error_reply(402, "Insufficient credits"), "credits", "Insufficient credits"),
    (error_reply(400, "aspect_ratio 7:3 is not supported", metadata={"raw": "bad ratio"}), "bad_request",
     "aspect_ratio 7:3 is not supported (upstream: bad ratio)"),
    (html_reply(502), "provider_error", "an HTML page: 502 Bad Gateway"),
])
def test_details_say_what_to_do_and_provider_message_holds_the_providers_words(run, fake, reply, kind, words):
    fake.enqueue("chat", reply)
    doc = assert_one_json(run("generate.py", *PROMPT, "--retries", "0", "--quiet"))
    assert doc["error_kind"] == kind and doc["provider_message"] == words
    assert "{" not in doc["details"] and "<" not in doc["details"] and words not in doc["details"]
    from imagegen.errors import PROVIDER_FIXES

    assert doc["details"] == PROVIDER_FIXES[kind]


def test_provider_message_is_masked_and_shortened(run, fake):
    fake.enqueue("chat", error_reply(401, f"Invalid key {TEST_KEY[:-2]}: " + "x" * 2000))
    doc = assert_one_json(run("generate.py", *PROMPT, "--retries", "0", "--quiet"))
    assert TEST_KEY[:14] not in doc["provider_message"] and "***" in doc["provider_message"]
    assert len(doc["provider_message"]) <= 300


def test_openai_words_are_kept_apart_too(run, fake, workdir):
    from tests.fake_api import make_png

    (workdir / "room.png").write_bytes(make_png(32, 32))
    fake.enqueue("edits", openai_error_reply(400, "Invalid size for gpt-image-2"))
    doc = assert_one_json(run("edit.py", "--input-image", "room.png", "--mask-rect", "0,0,8,8", "--prompt", "A plant",
                              "--retries", "0", "--quiet"))
    assert doc["provider_message"] == "Invalid size for gpt-image-2" and "Invalid size" not in doc["details"]


def test_a_failed_queue_job_keeps_the_providers_words_apart(run, fake, workdir):
    assert_one_json(run("enqueue_image_job.py", *PROMPT, "--out", "fox.png", "--request-id", "w"))
    fake.enqueue("chat", error_reply(401, "User not found."))
    assert_one_json(run("run_image_queue.py", "--idle-exit-sec", "0", "--quiet"))
    (record,) = [json.loads(p.read_text()) for p in (workdir / "generated/imagegen-queue/failed").glob("*.json")]
    assert record["provider_message"] == "User not found." and "preflight_check.py" in record["details"]


def test_a_mistyped_flag_is_named_even_with_a_required_one_missing(run):
    result = run("generate.py", "--promt", "x")
    doc = assert_one_json(result)
    assert result.code == 2 and "--promt" in doc["error"] and "--prompt" in doc["error"]
    assert doc["details"].startswith("did you mean --prompt?")
    plain = assert_one_json(run("generate.py", *PROMPT, "--sizee", "2K"))
    assert "--sizee" in plain["error"] and "did you mean --size?" in plain["details"]


def test_a_usage_error_prints_one_line_on_stderr_and_one_document_on_stdout(run):
    result = run("generate.py", "--prompt", "x", "--size", "9K")
    assert_one_json(result)
    (line,) = result.stderr.splitlines()
    assert line.startswith("generate.py: ") and "9K" in line
    quiet_success = run("generate.py", *PROMPT, "--dry-run", "--quiet")
    assert quiet_success.code == 0 and quiet_success.stderr == ""


@pytest.mark.parametrize("command, module", [
    ("image-gen-generate", "generate"), ("image-gen-enqueue", "enqueue_image_job"),
    ("image-gen-run-queue", "run_image_queue"), ("image-gen-queue-status", "queue_status"),
])
def test_installed_commands_name_themselves(monkeypatch, command, module):
    import importlib

    monkeypatch.setattr(sys, "argv", [f"/venv/bin/{command}", "--help"])
    parser = importlib.import_module(f"imagegen.commands.{module}").build_parser()
    assert parser.format_usage().startswith(f"usage: {command} ")
    monkeypatch.setattr(sys, "argv", [f"scripts/{module}.py"])
    assert importlib.import_module(f"imagegen.commands.{module}").build_parser().prog == f"{module}.py"
