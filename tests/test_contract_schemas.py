"""The published JSON Schemas hold for what the scripts really print, on success and on failure."""

from __future__ import annotations

import json

import pytest

from tests.conftest import ROOT, assert_one_json
from tests.fake_api import error_reply
from tests.schema_check import SCHEMA_DIR, assert_valid, load, validate

SCRIPTS_WITH_SCHEMAS = {path.stem for path in (ROOT / "scripts").glob("*.py")}


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
    assert_valid(assert_one_json(run("generate.py", "--prompt", "A fox", "--request-id", "r1")), "generate.success")
    assert_valid(assert_one_json(run("generate.py", "--prompt", "A fox", "--n", "2", "--model", "nanobanana")),
                 "generate.success")
    assert_valid(assert_one_json(run("generate.py", "--prompt", "A fox", "--dry-run", "--max-cost", "1")),
                 "generate.dry_run")


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
    assert run("run_image_queue.py", "--queue-dir", "q", "--idle-exit-sec", "0.2", "--quiet").code == 0
    doc = assert_one_json(run("gallery.py", "--queue-dir", "q", "--request-id", "r"))
    assert doc["images"] == 1
    assert_valid(doc, "gallery.success")
    assert_valid(assert_one_json(run("gallery.py", "--dir", "missing")), "error")
