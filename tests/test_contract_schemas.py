"""The published JSON Schemas hold for what the scripts really print, on success and on failure."""

from __future__ import annotations

import json

import pytest

from imagegen.models.table import RETIRED_NOTES
from tests.conftest import ROOT, assert_one_json
from tests.fake_api import Reply, error_reply
from tests.schema_check import SCHEMA_DIR, assert_valid, load, validate

# mcp_server.py speaks JSON-RPC, not one document: its tool results carry these documents (tests/test_mcp_*.py)
SCRIPTS_WITH_SCHEMAS = {path.stem for path in (ROOT / "scripts").glob("*.py")} - {"mcp_server"}


# -- the validator itself ----------------------------------------------------------------------

SAMPLE = {
    "$defs": {"point": {"type": "object", "required": ["x"], "properties": {"x": {"type": "integer"}}}},
    "type": "object",
    "required": ["name", "kind", "tags"],
    "properties": {
        "name": {"type": "string"},
        "kind": {"enum": ["a", "b"]},
        "size": {"type": ["number", "null"]},
        "flag": {"enum": [True]},
        "tags": {"type": "array", "items": {"type": "string"}},
        "where": {"$ref": "#/$defs/point"},
    },
}


@pytest.mark.parametrize("instance, problem", [
    ({"name": "n", "kind": "a", "tags": []}, None),
    ({"name": "n", "kind": "a", "tags": [], "size": None, "flag": True, "where": {"x": 1}}, None),
    ({"kind": "a", "tags": []}, "missing required property 'name'"),
    ({"name": 3, "kind": "a", "tags": []}, "$.name: expected string"),
    ({"name": "n", "kind": "c", "tags": []}, "is not one of"),
    ({"name": "n", "kind": "a", "tags": ["ok", 2]}, "$.tags[1]: expected string"),
    ({"name": "n", "kind": "a", "tags": [], "size": "big"}, "expected number or null"),
    ({"name": "n", "kind": "a", "tags": [], "size": True}, "expected number or null"),
    ({"name": "n", "kind": "a", "tags": [], "flag": 1}, "is not one of"),
    ({"name": "n", "kind": "a", "tags": [], "where": {"x": 1.5}}, "$.where.x: expected integer"),
    ({"name": "n", "kind": "a", "tags": [], "where": {}}, "$.where: missing required property 'x'"),
    ([], "expected object"),
])
def test_validator(instance, problem):
    problems = validate(instance, SAMPLE)
    if problem is None:
        assert problems == []
    else:
        assert any(problem in p for p in problems), problems


def test_every_schema_is_well_formed():
    names = sorted(p.stem for p in SCHEMA_DIR.glob("*.json"))
    assert {"error", "error.budget", "generate.success"} <= set(names)
    for name in names:
        schema = load(name)
        assert schema["$schema"].startswith("https://json-schema.org/") and schema["title"]
        assert schema["type"] == "object" and "success" in schema["required"]
        validate({}, schema)  # raises on keywords the validator does not understand


def test_every_script_has_a_success_schema():
    missing = sorted(s for s in SCRIPTS_WITH_SCHEMAS if not (SCHEMA_DIR / f"{s}.success.json").exists())
    assert not missing, f"add references/schemas/<script>.success.json for: {missing}"


# -- real outputs ------------------------------------------------------------------------------

def test_generate_outputs(run, fake, workdir):
    plain = assert_one_json(run("generate.py", "--prompt", "A fox", "--request-id", "r1"))
    assert_valid(plain, "generate.success")
    retired = assert_one_json(run("generate.py", "--prompt", "A fox", "--n", "2", "--model", "nanobanana"))
    assert_valid(retired, "generate.success")
    dry = assert_one_json(run("generate.py", "--prompt", "A fox", "--dry-run", "--max-cost", "1"))
    assert_valid(dry, "generate.dry_run")
    direct = assert_one_json(run("generate.py", "--prompt", "A fox", "--model", "gpt-image-2", "--quality", "low"))
    assert_valid(direct, "generate.success")
    assert direct["api_provider"] == "openai"
    shown = assert_one_json(run("generate.py", "--prompt", "A fox", "--provider", "google", "--dry-run"))
    assert_valid(shown, "generate.dry_run")
    assert shown["api_provider"] == "google"
    assert plain["warnings"] == dry["warnings"] == shown["warnings"] == direct["warnings"] == []
    assert retired["warnings"] == [RETIRED_NOTES["google/gemini-2.5-flash-image"]]


@pytest.mark.parametrize("args, extra_env", [
    (["--prompt", "x", "--size", "9K"], {}),
    (["--prompt", "x", "--preset", "nowhere"], {}),
    (["--prompt", "x"], {"OPENROUTER_API_KEY_IMAGES": None}),
    (["--prompt", "x", "--retries", "0"], {"_reply": "429"}),
])
def test_generate_errors(run, fake, args, extra_env):
    if extra_env.pop("_reply", None):
        fake.enqueue("chat", error_reply(429, "slow down", retry_after=120))
    result = run("generate.py", *args, env_extra=extra_env)
    doc = assert_one_json(result)
    assert result.code in (1, 2)
    assert_valid(doc, "error")


def test_budget_errors(run, env):
    for args, extra in ((["--max-cost", "0.001"], {}), ([], {"IMAGEGEN_DAILY_BUDGET_USD": "0"})):
        result = run("generate.py", "--prompt", "x", *args, env_extra=extra)
        doc = assert_one_json(result)
        assert result.code == 5
        assert_valid(doc, "error")
        assert_valid(doc, "error.budget")


def test_preflight_outputs(run, fake, workdir):
    (workdir / "generated/imagegen-queue/running").mkdir(parents=True)
    (workdir / "generated/imagegen-queue/running/j.json").write_text("{}")
    ok = run("preflight_check.py", "--json", "--online")
    assert ok.code == 0
    assert_valid(assert_one_json(ok), "preflight_check.success")
    failing = run("preflight_check.py", "--json", env_extra={"OPENROUTER_API_KEY_IMAGES": None})
    doc = json.loads(failing.stdout)
    assert failing.code == 1 and doc["success"] is False
    assert_valid(doc, "preflight_check.success")
    assert_valid(assert_one_json(run("preflight_check.py", "--bogus")), "error")


def test_models_outputs(run, fake):
    assert_valid(assert_one_json(run("models.py")), "models.success")
    assert_valid(assert_one_json(run("models.py", "--refresh")), "models.success")
    assert_valid(assert_one_json(run("models.py", "--alias", "flux.2-pro")), "models.alias")
    assert_valid(assert_one_json(run("models.py", "--alias", "nope")), "error")
    fake.enqueue("models", error_reply(503, "down"), error_reply(503, "down"), error_reply(503, "down"))
    assert_valid(assert_one_json(run("models.py", "--refresh", "--retries", "0")), "error")


def test_spend_outputs(run, fake):
    assert run("generate.py", "--prompt", "x", "--request-id", "r").code == 0
    assert_valid(assert_one_json(run("spend.py", "--since", "today")), "spend.success")
    assert_valid(assert_one_json(run("spend.py", "--since", "someday")), "error")


def test_gallery_outputs(run, fake, workdir):
    assert run("generate.py", "--prompt", "x").code == 0
    assert_valid(assert_one_json(run("gallery.py", "--dir", "data")), "gallery.success")
    assert run("enqueue_image_job.py", "--prompt", "x", "--queue-dir", "q", "--request-id", "r").code == 0
    assert run("run_image_queue.py", "--queue-dir", "q", "--idle-exit-sec", "0.05", "--quiet").code == 0
    doc = assert_one_json(run("gallery.py", "--queue-dir", "q", "--request-id", "r"))
    assert doc["images"] == 1
    assert_valid(doc, "gallery.success")
    assert_valid(assert_one_json(run("gallery.py", "--dir", "missing")), "error")


# -- edit, generate_image, review ---------------------------------------------------------------

@pytest.fixture
def photo(workdir):
    from tests.fake_api import make_png

    (workdir / "photo.png").write_bytes(make_png(64, 48))
    (workdir / "other.png").write_bytes(make_png(48, 64))
    return "photo.png"


def test_edit_outputs(run, fake, photo):
    openrouter = ["--input-image", photo, "--prompt", "Make it night"]
    openai = ["--input-image", photo, "--mask-rect", "0,0,32,24", "--prompt", "A moon"]
    for args in (openrouter, openai):
        edited = assert_one_json(run("edit.py", *args, "--request-id", "e1"))
        assert_valid(edited, "edit.success")
        assert edited["warnings"] == [], args
        assert_valid(assert_one_json(run("edit.py", *args, "--dry-run", "--max-cost", "1")), "edit.dry_run")
    assert_valid(assert_one_json(run("edit.py", *openrouter, "--api", "images")), "edit.success")
    assert_valid(assert_one_json(run("edit.py", *openrouter, "--mask-invert")), "error")
    budget = assert_one_json(run("edit.py", *openai, "--max-cost", "0.001"))
    assert_valid(budget, "error")
    assert_valid(budget, "error.budget")


def test_generate_image_outputs(run, fake):
    doc = assert_one_json(run("generate_image.py", "--prompt", "A fox", "--image-size", "low"))
    assert_valid(doc, "generate_image.success")
    assert doc["warnings"] == []
    assert_valid(assert_one_json(run("generate_image.py", "--prompt", "A fox", "--aspect-ratio", "7:7")), "error")


def test_review_outputs(run, fake, photo):
    base = ["--image", photo, "--original-prompt", "A fox"]
    for args, name in ((base, "review.manual"), (base + ["--compare", "other.png"], "review.manual"),
                       (base + ["--auto"], "review.auto"),
                       (base + ["--auto", "--compare", "other.png"], "review.compare"),
                       (base + ["--auto", "--dry-run"], "review.dry_run"),
                       (base + ["--auto", "--compare", "other.png", "--dry-run"], "review.dry_run")):
        doc = assert_one_json(run("review.py", *args))
        assert_valid(doc, name)
        assert_valid(doc, "review.success")
        assert doc["warnings"] == [], args
    assert_valid(assert_one_json(run("review.py", "--image", "missing.png", "--original-prompt", "x")), "error")
    fake.enqueue("messages", *[Reply(json={"type": "message", "content": [{"type": "text", "text": "no"}]})] * 3)
    assert_valid(assert_one_json(run("review.py", *base, "--auto")), "error")
    budget = assert_one_json(run("review.py", *base, "--auto", "--max-cost", "0.0001"))
    assert_valid(budget, "error.budget")


# -- the queue scripts ----------------------------------------------------------------------------

QUEUE = ["--queue-dir", "q"]


def test_queue_outputs(run, run_subprocess, fake, workdir):
    jobs = workdir / "jobs.jsonl"
    jobs.write_text(json.dumps({"prompt": "A lighthouse", "out": "a.png"}) + "\n" +
                    json.dumps({"prompt": "A harbour", "model": "mystery/unpriced-model"}) + "\n")
    for args in (["--prompt", "A crab poster", "--out", "gen/c.png", "--request-id", "r1"],
                 ["--prompt", "A crab poster", "--out", "gen/c.png", "--request-id", "r1"],
                 ["--jobs-file", str(jobs), "--request-id", "r2"]):
        assert_valid(assert_one_json(run("enqueue_image_job.py", *args, *QUEUE)), "enqueue_image_job.success")
    assert_valid(assert_one_json(run("enqueue_variants.py", "--prompt", "A crab logo", "--count", "2",
                                     "--out-dir", "gen", "--prefix", "crab", "--request-id", "r3", *QUEUE)),
                 "enqueue_variants.success")
    assert_valid(assert_one_json(run("queue_and_return.py", "--prompt", "A crab logo", "--count", "2",
                                     "--out-dir", "gen", "--prefix", "crab4", "--request-id", "r4",
                                     "--dry-run-worker", *QUEUE)), "queue_and_return.success")
    assert_valid(assert_one_json(run("queue_status.py", *QUEUE)), "queue_status.success")
    assert_valid(assert_one_json(run("queue_status.py", *QUEUE, "--request-id", "r3")), "queue_status.request")
    fake.enqueue("chat", error_reply(402, "no credits"))
    drained = assert_one_json(run("run_image_queue.py", *QUEUE, "--idle-exit-sec", "0.05", "--quiet"))
    assert drained["done"] >= 6 and drained["failed"] == 1
    assert_valid(drained, "run_image_queue.success")
    for request in ("r1", "r2", "r3"):
        assert_valid(assert_one_json(run("queue_status.py", *QUEUE, "--request-id", request, "--wait",
                                         "--timeout", "5")), "queue_status.request")
    handed = assert_one_json(run_subprocess("queue_and_return.py", "--prompt", "A crab logo", "--out-dir", "gen",
                                            "--prefix", "crab5", "--request-id", "r5", *QUEUE))  # spawns a worker
    assert handed["worker"]["state"] == "spawned"
    assert_valid(handed, "queue_and_return.success")
    assert_valid(assert_one_json(run("queue_status.py", *QUEUE, "--request-id", "r5", "--wait", "--timeout", "20")),
                 "queue_status.request")


def test_worker_without_a_free_slot(run, fake, workdir):
    from imagegen.queue import leases
    from imagegen.queue.layout import QueueDirs

    dirs = QueueDirs.at(workdir / "q").ensure()
    slot = leases.acquire_slot(dirs, 1)
    try:
        doc = assert_one_json(run("run_image_queue.py", *QUEUE, "--max-background-workers", "1"))
    finally:
        slot.release()
    assert doc["status"] == "no_free_slot"
    assert_valid(doc, "run_image_queue.success")


@pytest.mark.parametrize("script, args", [
    ("enqueue_image_job.py", ["--prompt", "x y z", "--request-id", "../up"]),
    ("enqueue_image_job.py", ["--prompt", "A poster", "--request-id", "r", "--max-cost", "0.0001"]),
    ("enqueue_variants.py", ["--prompt", "A logo", "--prefix", "../x", "--request-id", "r"]),
    ("queue_and_return.py", ["--prompt", "A logo", "--count", "x"]),
    ("run_image_queue.py", ["--request-id", "a/b"]),
    ("queue_status.py", ["--queue-dir", "nowhere"]),
    ("queue_status.py", ["--wait"]),
])
def test_queue_errors(run, fake, workdir, script, args):
    result = run(script, *QUEUE, *args) if script != "queue_status.py" else run(script, *args)
    doc = assert_one_json(result)
    assert result.code in (2, 5)
    assert_valid(doc, "error")
    if result.code == 5:
        assert_valid(doc, "error.budget")
