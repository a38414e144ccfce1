"""review.py as an agent runs it: manual rubric, auto review by both providers, compare, review files."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from imagegen.models.table import RETIRED_NOTES
from tests.conftest import ANTHROPIC_TEST_KEY, TEST_KEY, assert_one_json
from tests.fake_api import (
    Reply,
    anthropic_error_reply,
    error_reply,
    make_png,
    make_png_of_size,
    messages_reply,
    openrouter_text_reply,
    review_text,
)

PROMPT = "A red fox in snow"
NO_ANTHROPIC = {"ANTHROPIC_API_KEY": ""}


@pytest.fixture
def image(workdir: Path) -> Path:
    (workdir / "data").mkdir()
    path = workdir / "data" / "output.png"
    path.write_bytes(make_png(40, 30))
    return path


def reply_for(provider: str, text: str) -> Reply:
    return messages_reply(text) if provider == "anthropic" else openrouter_text_reply(text)


def route(provider: str) -> str:
    return "messages" if provider == "anthropic" else "chat"


def env_for(provider: str) -> dict[str, str]:
    return {} if provider == "anthropic" else NO_ANTHROPIC


@pytest.mark.subprocess  # as an agent sees it: a real process, its stdout and exit status
def test_seed_auto_review_command(run, fake, image, workdir):
    result = run("review.py", "--image", "./data/output.png", "--original-prompt", PROMPT, "--auto")
    doc = assert_one_json(result)
    assert doc["warnings"] == []
    assert result.code == 0
    (request,) = fake.requests_for("messages")
    assert request.headers["x-api-key"] == ANTHROPIC_TEST_KEY
    assert request.headers["anthropic-version"] == "2023-06-01"
    body = request.json
    assert body["model"] == "claude-sonnet-4-6" and body["max_tokens"] == 1024
    image_block, text_block = body["messages"][0]["content"]
    assert image_block == {"type": "image", "source": {"type": "base64", "media_type": "image/png",
                                                       "data": base64.b64encode(image.read_bytes()).decode()}}
    assert PROMPT in text_block["text"]
    assert {k: doc[k] for k in ("mode", "score", "prompt_adherence", "technical_quality", "composition",
                                "verdict", "suggested_refinement")} == {
        "mode": "auto", "score": 8, "prompt_adherence": 8, "technical_quality": 8, "composition": 7,
        "verdict": "accept", "suggested_refinement": ""}
    assert doc["critique"].startswith("Strong subject") and doc["provider"] == "anthropic"
    saved = json.loads(Path(doc["review_file"]).read_text())
    assert Path(doc["review_file"]) == image.resolve().with_name("output.png.review.json")
    assert saved["score"] == 8 and saved["verdict"] == "accept" and saved["original_prompt"] == PROMPT
    assert ANTHROPIC_TEST_KEY not in result.stdout + result.stderr + Path(doc["review_file"]).read_text()


def test_openrouter_provider_when_no_anthropic_key(run, fake, image):
    doc = assert_one_json(run("review.py", "--image", str(image), "--original-prompt", PROMPT, "--auto",
                              env_extra=NO_ANTHROPIC))
    assert doc["warnings"] == []
    assert fake.requests_for("messages") == []
    (request,) = fake.requests_for("chat")
    assert request.headers["authorization"] == f"Bearer {TEST_KEY}"
    body = request.json
    assert body["model"] == "google/gemini-3.5-flash" and "modalities" not in body
    system, user = body["messages"]
    assert system["role"] == "system" and "strict art director" in system["content"]
    text, picture = user["content"]
    assert PROMPT in text["text"]
    assert picture["image_url"]["url"] == "data:image/png;base64," + base64.b64encode(image.read_bytes()).decode()
    assert doc["provider"] == "openrouter" and doc["score"] == 8 and doc["cost_usd"] == 0.001


def test_review_model_and_provider_flags(run, fake, image):
    doc = assert_one_json(run("review.py", "--image", str(image), "--original-prompt", PROMPT, "--auto",
                              "--provider", "openrouter", "--review-model", "anthropic/claude-sonnet-4.6"))
    assert fake.requests_for("chat")[0].json["model"] == "anthropic/claude-sonnet-4.6" and doc["warnings"] == []
    doc = assert_one_json(run("review.py", "--image", str(image), "--original-prompt", PROMPT, "--auto",
                              "--review-model", "claude-opus-4-1"))
    assert doc["warnings"] == []
    assert fake.requests_for("messages")[0].json["model"] == "claude-opus-4-1"


WELL_FORMED = review_text(score=5, prompt_adherence=4, technical_quality=7, composition=6,
                          critique="The fox is there but the snow is missing.",
                          suggested_refinement="Add falling snow and a snowy field.")
GOOD_REPLIES = {
    "plain": WELL_FORMED,
    "fenced": f"```json\n{WELL_FORMED}\n```",
    "chatty": f"Sure! Here is my review of the image.\n\n{WELL_FORMED}\n\nLet me know if you need more.",
    "chatty_fenced": f"Here you go:\n```\n{WELL_FORMED}\n```\nHope that helps {{smile}}.",
    "string_scores": json.dumps({**json.loads(WELL_FORMED), "score": "5/10", "composition": 6.0}),
}


@pytest.mark.parametrize("provider", ["anthropic", "openrouter"])
@pytest.mark.parametrize("shape", list(GOOD_REPLIES))
def test_reply_shapes_are_understood(run, fake, image, provider, shape):
    fake.enqueue(route(provider), reply_for(provider, GOOD_REPLIES[shape]))
    doc = assert_one_json(result := run("review.py", "--image", str(image), "--original-prompt", PROMPT, "--auto",
                                        env_extra=env_for(provider)))
    assert doc["warnings"] == []
    assert result.code == 0, doc
    assert (doc["score"], doc["prompt_adherence"], doc["technical_quality"], doc["composition"]) == (5, 4, 7, 6)
    assert doc["verdict"] == "refine" and doc["suggested_refinement"] == "Add falling snow and a snowy field."


BROKEN_REPLIES = {
    "prose": ("I think this image is quite nice, maybe an 8.", "no JSON object with a score"),
    "truncated": (WELL_FORMED[:60], "no JSON object with a score"),
    "missing": (json.dumps({"score": 7, "prompt_adherence": 7, "composition": 7, "critique": "ok"}),
                "no 'technical_quality'"),
    "range": (review_text(score=11), "'score' is not a whole number from 1 to 10: 11"),
    "zero": (review_text(composition=0), "'composition' is not a whole number from 1 to 10"),
    "word": (review_text(prompt_adherence="high"), "'prompt_adherence' is not a whole number"),
    "no_critique": (review_text(critique=""), "no critique"),
    "empty": ("", "returned no text"),
}


@pytest.mark.parametrize("provider", ["anthropic", "openrouter"])
@pytest.mark.parametrize("case", list(BROKEN_REPLIES))
def test_broken_replies_are_a_clear_error(run, fake, image, provider, case):
    text, fragment = BROKEN_REPLIES[case]
    fake.enqueue(route(provider), reply_for(provider, text))
    doc = assert_one_json(result := run("review.py", "--image", str(image), "--original-prompt", PROMPT, "--auto",
                                        env_extra=env_for(provider)))
    assert result.code == 1 and doc["error_kind"] == "bad_review_reply", doc
    assert fragment in doc["error"] and doc["retryable"] is True
    assert len(fake.requests_for(route(provider))) == 1
    assert not image.with_name("output.png.review.json").exists()


def test_cut_off_reply_says_so(run, fake, image):
    fake.enqueue("messages", messages_reply('{"score": 8, "prompt_adh', stop_reason="max_tokens"))
    doc = assert_one_json(run("review.py", "--image", str(image), "--original-prompt", PROMPT, "--auto"))
    assert doc["error_kind"] == "bad_review_reply" and "cut off" in doc["details"]


@pytest.mark.parametrize("score, verdict", [(10, "accept"), (7, "accept"), (6, "refine"), (4, "refine"),
                                            (3, "reject"), (1, "reject")])
def test_verdict_is_ours_not_the_models(run, fake, image, score, verdict):
    wrong = "reject" if verdict == "accept" else "accept"
    fake.enqueue("messages", messages_reply(review_text(score=score, verdict=wrong)))
    doc = assert_one_json(run("review.py", "--image", str(image), "--original-prompt", PROMPT, "--auto"))
    assert doc["warnings"] == []
    assert doc["score"] == score and doc["verdict"] == verdict


@pytest.mark.parametrize("reply, kind, calls", [
    (anthropic_error_reply(401, "invalid x-api-key"), "auth", 1),
    (anthropic_error_reply(400, "image exceeds 5 MB maximum"), "bad_request", 1),
    (anthropic_error_reply(429, "rate limited"), "rate_limited", 3),
    (anthropic_error_reply(529, "Overloaded"), "provider_error", 3),
    (Reply(json={"type": "error", "error": {"type": "api_error", "message": "in a 200"}}), "provider_error", 1),
])
def test_anthropic_errors_are_typed(run, fake, image, reply, kind, calls):
    for _ in range(3):
        fake.enqueue("messages", reply)
    doc = assert_one_json(result := run("review.py", "--image", str(image), "--original-prompt", PROMPT, "--auto"))
    assert result.code == 1 and doc["error_kind"] == kind, doc
    assert len(fake.requests_for("messages")) == calls
    assert doc["provider"] == "anthropic" and doc["model"] == "claude-sonnet-4-6"
    message = reply.json["error"]["message"]
    assert message in doc["error"]


def test_openrouter_error_is_typed(run, fake, image):
    fake.enqueue("chat", error_reply(402, "Insufficient credits"))
    doc = assert_one_json(run("review.py", "--image", str(image), "--original-prompt", PROMPT, "--auto",
                              env_extra=NO_ANTHROPIC))
    assert doc["error_kind"] == "credits" and "Insufficient credits" in doc["error"]


# -- limits and the manual review ----------------------------------------------------------------

def test_anthropic_base64_limit_checked_before_sending(run, fake, workdir):
    (workdir / "big.png").write_bytes(make_png_of_size(4 * 1024 * 1024))  # 5.3 MB as base64
    doc = assert_one_json(result := run("review.py", "--image", "big.png", "--original-prompt", PROMPT, "--auto"))
    assert result.code == 2 and doc["error_kind"] == "too_large" and "5 MB of base64" in doc["error"]
    assert "--provider openrouter" in doc["details"] and fake.requests == []
    result = run("review.py", "--image", "big.png", "--original-prompt", PROMPT, "--auto", "--provider", "openrouter")
    assert result.code == 0 and len(fake.requests_for("chat")) == 1
    assert assert_one_json(result)["warnings"] == []


def test_anthropic_pixel_limit(run, fake, workdir):
    (workdir / "wide.png").write_bytes(make_png(8001, 2))
    doc = assert_one_json(result := run("review.py", "--image", "wide.png", "--original-prompt", PROMPT, "--auto"))
    assert result.code == 2 and "8001x2" in doc["error"] and "8000 pixels" in doc["error"] and fake.requests == []


def test_manual_review_of_a_10_mb_image_stays_small(run, fake, workdir):
    (workdir / "huge.png").write_bytes(make_png_of_size(10 * 1024 * 1024))
    result = run("review.py", "--image", "huge.png", "--original-prompt", PROMPT,
                 env_extra={"ANTHROPIC_API_KEY": "", "OPENROUTER_API_KEY_IMAGES": ""})
    doc = assert_one_json(result)
    assert result.code == 0 and fake.requests == [] and doc["warnings"] == []
    assert len(result.stdout) < 6000
    assert doc["mode"] == "manual" and doc["image"] == str(workdir / "huge.png")
    assert doc["image_info"]["bytes"] > 10_000_000 and "iVBOR" not in result.stdout
    assert set(doc["rubric"]) == {"score", "prompt_adherence", "technical_quality", "composition"}
    assert doc["verdict_rule"]["accept"] == "score >= 7"
    assert PROMPT in doc["user_message"] and "`image`" in doc["instructions"]


def test_manual_prompts_are_the_ones_auto_sends(run, fake, image):
    manual = assert_one_json(run("review.py", "--image", str(image), "--original-prompt", PROMPT))
    by_anthropic = assert_one_json(run("review.py", "--image", str(image), "--original-prompt", PROMPT, "--auto"))
    by_openrouter = assert_one_json(run("review.py", "--image", str(image), "--original-prompt", PROMPT, "--auto",
                                        env_extra=NO_ANTHROPIC))
    assert manual["warnings"] == by_anthropic["warnings"] == by_openrouter["warnings"] == []
    anthropic = fake.requests_for("messages")[0].json
    assert anthropic["system"] == manual["system_prompt"]
    assert anthropic["messages"][0]["content"][1]["text"] == manual["user_message"]
    openrouter = fake.requests_for("chat")[0].json
    assert openrouter["messages"][0]["content"] == manual["system_prompt"]
    assert openrouter["messages"][1]["content"][0]["text"] == manual["user_message"]


def test_dry_run_shows_request_without_key_or_bytes(run, fake, workdir):
    (workdir / "pic.png").write_bytes(make_png(200, 200, noise=True))
    result = run("review.py", "--image", "pic.png", "--original-prompt", PROMPT, "--auto", "--dry-run",
                 "--provider", "anthropic", env_extra={"ANTHROPIC_API_KEY": ""})
    doc = assert_one_json(result)
    assert doc["warnings"] == []
    assert doc["dry_run"] is True and fake.requests == [] and len(result.stdout) < 6000
    assert doc["request"]["url"] == fake.anthropic_url + "/v1/messages"
    data = doc["request"]["body"]["messages"][0]["content"][0]["source"]["data"]
    assert data.endswith("chars)") and len(data) < 60


@pytest.mark.subprocess
def test_no_key_at_all_for_auto(run, fake, image):
    doc = assert_one_json(result := run("review.py", "--image", str(image), "--original-prompt", PROMPT, "--auto",
                                        env_extra={"ANTHROPIC_API_KEY": "", "OPENROUTER_API_KEY_IMAGES": ""}))
    assert result.code == 2 and doc["error_kind"] == "missing_key"
    assert "without --auto" in doc["details"] and fake.requests == []


# -- prompts from sidecars, compare, review files ------------------------------------------------

def test_prompt_is_read_from_the_generate_sidecar(run, fake, workdir):
    made = assert_one_json(run("generate.py", "--prompt", "A lighthouse at dusk", "--model", "nanobanana"))
    assert made["warnings"] == [RETIRED_NOTES[made["model"]]]
    doc = assert_one_json(run("review.py", "--image", made["path"], "--auto"))
    assert doc["original_prompt"] == "A lighthouse at dusk" and doc["warnings"] == []
    assert doc["original_prompt_source"].startswith("sidecar ")
    assert "A lighthouse at dusk" in fake.requests_for("messages")[0].json["messages"][0]["content"][1]["text"]
    manual = assert_one_json(run("review.py", "--image", made["path"]))
    assert manual["original_prompt"] == "A lighthouse at dusk" and manual["warnings"] == []


@pytest.mark.parametrize("sidecar", [None, "{broken", '{"request": {}}'])
def test_missing_prompt_without_usable_sidecar(run, fake, image, sidecar):
    if sidecar is not None:
        image.with_name("output.png.json").write_text(sidecar)
    doc = assert_one_json(result := run("review.py", "--image", str(image), "--auto"))
    assert result.code == 2 and "--original-prompt" in doc["error"] and fake.requests == []


def test_compare_names_the_winner(run, fake, image, workdir):
    other = workdir / "data" / "other.png"
    other.write_bytes(make_png(30, 40))
    weak, strong = review_text(score=5, prompt_adherence=5), review_text(score=9, prompt_adherence=9)

    def by_image(record):
        data = record.json["messages"][0]["content"][0]["source"]["data"]
        return messages_reply(strong if base64.b64decode(data) == other.read_bytes() else weak)

    fake.enqueue("messages", by_image, by_image)
    doc = assert_one_json(run("review.py", "--image", str(image), "--compare", str(other),
                              "--original-prompt", PROMPT, "--auto"))
    assert doc["warnings"] == []
    assert len(fake.requests_for("messages")) == 2
    assert doc["compare"] is True and doc["winner"] == str(other) and doc["winner_index"] == 1
    assert [r["score"] for r in doc["reviews"]] == [5, 9]
    assert [r["verdict"] for r in doc["reviews"]] == ["refine", "accept"]
    saved = json.loads(other.with_name("other.png.review.json").read_text())
    assert saved["score"] == 9 and saved["compared_with"] == str(image)


def test_compare_tie_and_manual_compare(run, fake, image, workdir):
    other = workdir / "data" / "other.png"
    other.write_bytes(make_png(30, 40))
    doc = assert_one_json(run("review.py", "--image", str(image), "--compare", str(other),
                              "--original-prompt", PROMPT, "--auto", "--no-review-file"))
    assert doc["winner"] is None and doc["tie"] is True and doc["warnings"] == []
    assert not image.with_name("output.png.review.json").exists()
    manual = assert_one_json(run("review.py", "--image", str(image), "--compare", str(other),
                                 "--original-prompt", PROMPT))
    assert manual["images"] == [str(image), str(other)] and "`images`" in manual["instructions"]
    assert manual["warnings"] == []
    same = assert_one_json(result := run("review.py", "--image", str(image), "--compare", str(image),
                                         "--original-prompt", PROMPT))
    assert result.code == 2 and "same file" in same["error"]


def test_unsavable_review_file_only_warns(run, fake, image):
    image.with_name("output.png.review.json").mkdir()  # a folder in the way of the file
    doc = assert_one_json(result := run("review.py", "--image", str(image), "--original-prompt", PROMPT, "--auto"))
    assert result.code == 0 and doc["score"] == 8 and doc["review_file"] is None
    assert doc["warnings"] == [f"the review of output.png could not be saved to "
                               f"{image.with_name('output.png.review.json')}: Is a directory"]


@pytest.mark.parametrize("args, fragment", [
    (["--image", "nowhere.png", "--original-prompt", PROMPT], "not found"),
    (["--image", "notes.txt", "--original-prompt", PROMPT], "not a recognised image"),
    (["--image", "data/output.png", "--original-prompt", "  "], "--original-prompt is empty"),
    (["--image", "data/output.png", "--provider", "other"], "invalid choice"),
])
def test_bad_input(run, fake, image, workdir, args, fragment):
    (workdir / "notes.txt").write_text("hello")
    doc = assert_one_json(result := run("review.py", *args))
    assert result.code == 2 and fragment in doc["error"] and fake.requests == []
