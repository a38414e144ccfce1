"""Bad input, generated: whatever a caller passes, a script answers with one JSON document.

Property-based (hypothesis) over prompts (any unicode, control characters, huge), preset files
(random JSON documents, near-valid presets with wrong values, random bytes), job files dropped
into a queue's pending/ folder (random bytes, random JSON, near-valid jobs with wrong fields or
ids that try to leave the queue), paths (odd names, directories, missing files, NUL bytes, names
too long for the file system) and random argv lists built from each script's own flags. The
property everywhere: no traceback, exactly one JSON document on stdout whose ``success`` matches
the exit code, a documented exit code, exit 2 for input errors and never an ``internal`` error.

Scripts run in-process through ``imagegen.commands.<script>.main(argv)`` for speed, against the
loopback fake with marker keys; a few cases go through a subprocess for what only a real process
sees (argv bytes that are not UTF-8). Examples are limited so the file runs in well under a minute.
"""

from __future__ import annotations

import importlib
import itertools
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from tests.conftest import SCRIPTS, TEST_KEY, assert_one_json
from tests.fake_api import make_png

FAST = settings(max_examples=40, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
FEWER = settings(FAST, max_examples=15)
EXIT_CODES = {0, 1, 2, 3, 4, 5}

SCRIPT_NAMES = ("generate", "generate_image", "edit", "review", "enqueue_image_job", "enqueue_variants",
                "queue_and_return", "run_image_queue", "queue_status", "preflight_check", "models", "spend",
                "gallery")


@pytest.fixture
def inproc(fake, tmp_path, monkeypatch):
    """In-process runs from a work folder holding a PNG, a text file and a folder."""
    work = tmp_path / "work"
    work.mkdir()
    env = {**fake.env(), "OPENROUTER_API_KEY_IMAGES": TEST_KEY, "OPENAI_API_KEY": "sk-openai-test-KEYMARKER-9a8b",
           "ANTHROPIC_API_KEY": "sk-anthropic-test-KEYMARKER-77c1", "IMAGEGEN_RETRY_BASE_SEC": "0.01",
           "XDG_STATE_HOME": str(tmp_path / "state"), "XDG_CACHE_HOME": str(tmp_path / "cache"),
           "XDG_CONFIG_HOME": str(tmp_path / "config"), "HOME": str(tmp_path), "NO_COLOR": "1"}
    for name in ("OPENROUTER_API_KEY", "IMAGEGEN_DAILY_BUDGET_USD", "IMAGEGEN_LEDGER", "IMAGEGEN_PRESETS_DIR"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(work)
    (work / "photo.png").write_bytes(make_png(16, 16))
    (work / "notes.txt").write_text("not an image\n")
    (work / "folder").mkdir()
    return work


def call(capsys, script: str, argv: list[str]) -> tuple[int, dict]:
    """Run one script in-process; check the contract every run keeps; return (exit code, document)."""
    module = importlib.import_module(f"imagegen.commands.{script}")
    capsys.readouterr()
    code = module.main(argv)
    out, err = capsys.readouterr()
    assert "Traceback" not in err, err
    doc = json.loads(out)  # exactly one document: json.loads refuses anything after it
    assert isinstance(doc, dict) and doc["success"] is (code == 0), doc
    assert code in EXIT_CODES, (code, doc)
    if code and not (script == "preflight_check" and "checks" in doc):  # a failed check is a report
        assert doc["error_kind"] != "internal", doc
        assert isinstance(doc["error"], str) and doc["error"], doc
    return code, doc


# -- prompts -------------------------------------------------------------------------------------

any_text = st.text(alphabet=st.characters(exclude_categories=["Cs"]), max_size=300)  # Cs: see the subprocess test
controls = st.text(alphabet=st.sampled_from("\x00\x01\x07\x08\t\n\r\x1b\x7f\u200b\u202e\ufeff\u2028 a\"\\{}"),
                   max_size=50)
prompts = st.one_of(any_text, controls, st.builds(lambda a, n, b: a + "x" * n + b, any_text,
                                                  st.integers(0, 300_000), controls))


@FAST
@given(prompt=prompts)
def test_any_prompt_dry_run(inproc, capsys, prompt):
    code, doc = call(capsys, "generate", ["--prompt", prompt, "--dry-run", "--quiet"])
    if not prompt.strip() or "\x00" in prompt:
        assert code == 2 and doc["error_kind"] == "usage"
    elif prompt.startswith("-"):
        assert code in (0, 2, 4), doc  # "-x" reads as a flag, "-" and "-1" as values
    else:
        assert code in (0, 4), doc  # 4: the prompt reads as an edit of an image that was not given
    if code == 0:
        assert doc["prompt"] == prompt.strip()


@FEWER
@given(prompt=any_text.filter(lambda p: p.strip() and not p.startswith("-") and "\x00" not in p))
def test_any_prompt_is_sent_as_given(inproc, capsys, fake, prompt):
    fake.clear()
    code, doc = call(capsys, "generate", ["--prompt", prompt, "--quiet", "--retries", "0", "--model", "nanobanana",
                                          "--allow-no-baseline-on-edit-intent"])
    assert code == 0, doc
    (request,) = fake.requests_for("chat")
    assert request.json["messages"][-1]["content"] == prompt.strip()
    assert Path(doc["path"]).is_file()


# -- presets -------------------------------------------------------------------------------------

json_leaf = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True), any_text)
json_value = st.recursive(json_leaf, lambda inner: st.lists(inner, max_size=4)
                          | st.dictionaries(st.text(max_size=10), inner, max_size=4), max_leaves=10)
maybe = lambda valid: st.one_of(valid, json_value)  # noqa: E731
near_valid_preset = st.fixed_dictionaries({}, optional={
    "name": maybe(st.text(max_size=20)),
    "description": maybe(st.text(max_size=40)),
    "system_message": maybe(st.text(max_size=40)),
    "defaults": maybe(st.fixed_dictionaries({}, optional={
        "model": maybe(st.sampled_from(["nanobanana", "flux.2-pro", "gpt-5-image", "nope", ""])),
        "aspect_ratio": maybe(st.sampled_from(["1:1", "16:9", "7:3", "1:8", ""])),
        "size": maybe(st.sampled_from(["1K", "2K", "4K", "0.5K", "8K"])),
    })),
    "style": maybe(st.fixed_dictionaries({}, optional={
        "description": maybe(any_text), "mood": maybe(any_text), "lighting": maybe(any_text),
        "color_palette": maybe(st.lists(st.sampled_from(["#fff", "#123456", "red", "#12345", ""]), max_size=4)),
        "camera": maybe(st.dictionaries(st.text(max_size=6), maybe(st.text(max_size=10)), max_size=3)),
        "anti_patterns": maybe(st.lists(any_text, max_size=3)),
        "reference_images": maybe(st.lists(st.sampled_from(
            ["photo.png", "notes.txt", "folder", "missing.png", "", "a\x00b.png", "x" * 300, "/"]), max_size=3)),
    })),
})


@FAST
@given(document=st.one_of(json_value, near_valid_preset))
def test_any_preset_document(inproc, capsys, document):
    path = inproc / "preset.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    code, doc = call(capsys, "generate", ["--prompt", "A lighthouse on a cliff", "--preset", str(path), "--dry-run"])
    assert code in (0, 2), doc
    if code == 2:
        assert doc["error_kind"] in ("preset", "usage", "unsupported"), doc


@FEWER
@given(data=st.binary(max_size=200))
def test_preset_file_of_random_bytes(inproc, capsys, data):
    path = inproc / "bytes.json"
    path.write_bytes(data)
    code, doc = call(capsys, "generate", ["--prompt", "A lighthouse on a cliff", "--preset", str(path), "--dry-run"])
    assert code in (0, 2) and (code == 0 or doc["error_kind"] == "preset"), doc


# -- job files -----------------------------------------------------------------------------------

safe_name = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-_", min_size=1, max_size=12)
job_ids = st.one_of(safe_name.map(lambda n: f"{n}--0000"), st.sampled_from(
    ["../escape--0000", "a/b--0000", "", ".hidden", "x" * 300, "..", "/tmp/abs--0000"]), json_value)
arg_values = {
    "prompt": maybe(any_text), "model": maybe(st.sampled_from(["nanobanana", "nope", "flux.2-klein"])),
    "aspect_ratio": maybe(st.sampled_from(["1:1", "9:9"])), "size": maybe(st.sampled_from(["1K", "9K"])),
    "seed": maybe(st.integers()), "n": maybe(st.integers(-2, 3)),
    "output_file": maybe(safe_name.map(lambda n: f"o/{n}.png")),
    "style_ref": maybe(st.lists(st.sampled_from(["photo.png", "notes.txt", "missing.png"]), max_size=2)),
    "input_image": maybe(st.sampled_from(["photo.png", "folder", "notes.txt"])),
    "system_prompt": maybe(any_text), "must_keep": maybe(st.lists(any_text, max_size=2)),
}
near_valid_job = st.fixed_dictionaries(
    {"job_id": job_ids, "args": st.fixed_dictionaries({}, optional=arg_values)},
    optional={"kind": maybe(st.sampled_from(["generate", "edit", "bogus"])), "request_id": json_value,
              "attempts": maybe(st.integers(-1, 5)), "not_before": maybe(st.floats(allow_nan=True)),
              "variation": maybe(any_text), "output": json_value})
QUEUE_NUMBERS = itertools.count()
job_file = st.one_of(st.binary(max_size=100), json_value.map(lambda v: json.dumps(v).encode()),
                     near_valid_job.map(lambda v: json.dumps(v).encode()))


@FEWER
@given(files=st.lists(st.tuples(safe_name, job_file), min_size=1, max_size=4, unique_by=lambda f: f[0]))
def test_any_job_file_in_pending(inproc, capsys, fake, tmp_path, files):
    queue = tmp_path / "queue" / str(next(QUEUE_NUMBERS))
    for state in ("pending", "running", "results", "failed"):
        (queue / state).mkdir(parents=True)
    for name, data in files:
        (queue / "pending" / f"{name}--0000.json").write_bytes(data)
    code, doc = call(capsys, "run_image_queue", ["--queue-dir", str(queue), "--idle-exit-sec", "0.05", "--quiet",
                                                 "--retries", "0", "--max-attempts", "1", "--job-timeout", "5"])
    assert code == 0, doc
    seen: dict[str, str] = {}
    for state in ("pending", "running", "results", "failed"):
        for path in (queue / state).glob("*.json"):
            json.loads(path.read_text())
            assert path.stem not in seen
            seen[path.stem] = state
    assert set(seen) == {f"{name}--0000" for name, _ in files}  # nothing lost, nothing invented
    assert "running" not in seen.values()
    deferred = {stem for stem, state in seen.items() if state == "pending"}
    for stem in deferred:  # only a job scheduled for later may wait; nothing else is left behind
        assert json.loads((queue / "pending" / f"{stem}.json").read_text()).get("not_before")
    outside = [p for p in (tmp_path / "queue").parent.rglob("*") if "escape" in p.name or "abs--" in p.name]
    assert outside == []  # no job id wrote outside its queue


# -- paths ---------------------------------------------------------------------------------------

odd_paths = st.one_of(
    st.sampled_from(["", ".", "..", "/", "folder", "folder/", "missing.png", "notes.txt", "photo.png/x",
                     "-photo.png", "a\x00b.png", "x" * 300, "x" * 300 + "/y.png", "~nobody/none.png",
                     "notes.txt/inside.png", "/proc/self/mem", "/dev/null", "über ünïcode.png",
                     "~no-such-user-0/x.png"]),
    st.text(alphabet=st.characters(exclude_categories=["Cs"], exclude_characters="\x00"), min_size=1, max_size=40),
)
PATH_FLAGS = [
    ("generate", ["--prompt", "A fox", "--dry-run", "--input-image"]),
    ("generate", ["--prompt", "A fox", "--dry-run", "--style-ref"]),
    ("generate", ["--prompt", "A fox", "--dry-run", "--preset"]),
    ("generate", ["--prompt", "A fox", "--retries", "0", "--output-file"]),
    ("generate", ["--prompt", "A fox", "--retries", "0", "--output-dir"]),
    ("generate", ["--prompt", "Make the sky darker", "--dry-run", "--confirm-external-upload", "--baseline-image"]),
    ("edit", ["--prompt", "Add a hat", "--dry-run", "--input-image"]),
    ("edit", ["--prompt", "Add a hat", "--dry-run", "--input-image", "photo.png", "--mode", "openai", "--mask"]),
    ("review", ["--original-prompt", "A fox", "--image"]),
    ("review", ["--original-prompt", "A fox", "--image", "photo.png", "--compare"]),
    ("gallery", ["--dir"]),
    ("gallery", ["--manifest"]),
    ("gallery", ["--dir", "folder", "--out"]),
    ("enqueue_image_job", ["--queue-dir", "q", "--jobs-file"]),
    ("enqueue_image_job", ["--prompt", "A fox", "--queue-dir"]),
    ("queue_status", ["--queue-dir"]),
    ("preflight_check", ["--json", "--output-dir"]),
]


@FAST
@given(case=st.sampled_from(PATH_FLAGS), path=odd_paths)
def test_odd_paths(inproc, capsys, case, path):
    script, argv = case
    assume(not path.startswith("-") or "=" in path)
    code, doc = call(capsys, script, argv + [path])
    assert code in (0, 1, 2) or (code == 4 and not path), doc  # an empty baseline is no baseline: edit intent
    if code == 1:  # only a check that ran and failed (preflight), never a crash
        assert script == "preflight_check", doc


# -- random argv ---------------------------------------------------------------------------------

TEXT_ONLY = {"-h", "--help", "--version", "--table", "--markdown"}
VALUES = st.one_of(
    st.sampled_from(["0", "1", "-1", "3", "11", "1e309", "nan", "inf", "-0", "0.5", "2K", "16:9", "nanobanana",
                     "photo.png", "notes.txt", "folder", "missing.png", "q", "out", "r-1", "../x", "", " ", "--",
                     "today", "2026-13-45", "x" * 500, "a\x00b"]),
    any_text.filter(lambda t: not t.startswith("-")),
)
SAFE_TAIL = {  # keep runs short and local whatever the random flags say
    "queue_and_return": ["--dry-run-worker"],
    "run_image_queue": ["--idle-exit-sec", "0.05", "--job-timeout", "5"],
    "queue_status": ["--timeout", "0.2"],
    "preflight_check": ["--json"],
}


def flags_of(script: str) -> list[str]:
    module = importlib.import_module(f"imagegen.commands.{script}")
    parser = module.build_parser()
    return sorted({flag for option in parser.declared for flag in option.spellings()} - TEXT_ONLY)


@st.composite
def argv_for(draw, script: str) -> list[str]:
    flags = flags_of(script)
    argv: list[str] = []
    for _ in range(draw(st.integers(0, 7))):
        argv.append(draw(st.sampled_from(flags)))
        if draw(st.booleans()):
            argv.append(draw(VALUES))
    return argv + SAFE_TAIL.get(script, [])


@pytest.mark.parametrize("script", SCRIPT_NAMES)
def test_random_argv(inproc, capsys, fake, script):
    @settings(FAST, max_examples=25)
    @given(argv=argv_for(script))
    def check(argv):
        fake.clear()
        code, doc = call(capsys, script, ["--quiet"] + argv if "--quiet" in flags_of(script) else argv)
        if code == 1:
            assert doc["error_kind"] not in ("usage", "internal"), doc

    check()


# -- through a real process ----------------------------------------------------------------------

def test_argv_that_is_not_utf8(env, workdir, fake):
    """Bytes that are not UTF-8 reach Python as lone surrogates: the JSON must still be writable."""
    completed = subprocess.run([sys.executable, str(SCRIPTS / "generate.py"), b"--prompt", b"A fox \xff\xfe in snow",
                                b"--dry-run"], cwd=workdir, env=env, capture_output=True, timeout=60)
    stdout = completed.stdout.decode("utf-8")  # must be valid UTF-8 whatever the input was
    doc = json.loads(stdout)
    assert b"Traceback" not in completed.stderr, completed.stderr
    assert doc["success"] is (completed.returncode == 0) and completed.returncode in (0, 2)


@pytest.mark.subprocess
@pytest.mark.parametrize("args", [
    ["--prompt", "A fox\x1b[31m red \x07 bell\r\n\tend", "--dry-run"],
    ["--prompt", "x" * 120_000, "--dry-run"],
    ["--prompt", "A fox", "--output-file", "x" * 300 + ".png"],
    ["--prompt", "A fox", "--n", "99"],
    ["--prompt"],
    [],
    ["--prompt", "A fox", "--bogus-flag"],
])
def test_odd_command_lines_in_a_process(run, fake, args):
    result = run("generate.py", *args)
    doc = assert_one_json(result)
    assert result.code in (0, 2) and (result.code == 0 or doc["error_kind"] != "internal"), doc
    assert result.stdout.count("\n") == len(result.stdout.splitlines())  # one document, newline-terminated


def test_every_script_is_covered():
    shims = {p.stem for p in SCRIPTS.glob("*.py")} - {"mcp_server"}  # a JSON-RPC server: tests/test_mcp_*.py
    assert shims == set(SCRIPT_NAMES), shims ^ set(SCRIPT_NAMES)
    assert os.path.isdir(SCRIPTS / "imagegen" / "commands")


@pytest.mark.parametrize("job", [
    {"job_id": "hostile--0000", "args": {}, "attempts": [1]},  # once hung the worker: a thread died holding a job
    {"job_id": "hostile--0000", "args": {}, "attempts": -10**9},  # would retry (and pay) without end
    {"job_id": "hostile--0000", "args": {}, "not_before": float("nan")},  # never runnable, never failed
    {"job_id": "hostile--0000", "args": {}, "history": "not a list"},
    {"job_id": "../../escape--0000", "args": {"prompt": "A fox in snow"}},  # results would land outside
    {"job_id": "someone-else--0000", "args": {"prompt": "A fox in snow"}},  # results filed under another name
], ids=["attempts-list", "attempts-negative", "not-before-nan", "history-str", "job-id-escape", "job-id-other"])
def test_hostile_job_file_is_failed_not_run(run, fake, workdir, job):
    pending = workdir / "q" / "pending"
    pending.mkdir(parents=True)
    (pending / "hostile--0000.json").write_text(json.dumps(job))
    result = run("run_image_queue.py", "--queue-dir", "q", "--idle-exit-sec", "0.05", timeout=30)
    summary = assert_one_json(result)
    assert result.code == 0 and "errors" not in summary, summary
    failed = json.loads((workdir / "q" / "failed" / "hostile--0000.json").read_text())
    assert failed["error_kind"] == "corrupt_job" and failed["error"]
    assert fake.requests == []
    assert sorted(p.relative_to(workdir).as_posix() for p in workdir.rglob("*.json")) == ["q/failed/hostile--0000.json"]
