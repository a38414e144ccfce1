"""Local files as attacks: FIFOs, links, traversal ids and deep JSON planted where the tools read.

Every local file the project reads goes through ``imagegen.localjson`` (non-blocking, regular files
only, bounded in size and depth), and every id read from a file is checked before it becomes a
path. The FIFO cases run in a real process: a read that blocked would hang it, not this suite.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from tests.conftest import assert_one_json

QUEUE = "q"
DEEP = "[" * 5000 + "]" * 5000


# -- the helper itself ------------------------------------------------------------------------

def test_read_json_refuses_what_is_not_a_small_regular_json_file(tmp_path):
    from imagegen import localjson

    (tmp_path / "fifo").parent.mkdir(exist_ok=True)
    os.mkfifo(tmp_path / "fifo")
    (tmp_path / "big").write_bytes(b" " * 2000)
    (tmp_path / "deep").write_text(DEEP)
    (tmp_path / "deep-object").write_text('{"a":' * 3000 + "1" + "}" * 3000)
    (tmp_path / "latin").write_bytes(b'{"a": "caf\xe9"}')
    (tmp_path / "good").write_text('{"a": "[[[[ not nesting", "b": [1, [2]]}')
    (tmp_path / "link").symlink_to(tmp_path / "good")
    for name, why in (("fifo", "not a regular file"), ("big", "more than the 1000"), ("deep", "nested deeper"),
                      ("deep-object", "nested deeper"), ("latin", "UnicodeDecodeError"), ("link", "cannot be opened")):
        with pytest.raises(localjson.LocalFileError, match=why):
            localjson.read_json(tmp_path / name, 1000 if name == "big" else 100_000)
    assert localjson.read_json(tmp_path / "good") == {"a": "[[[[ not nesting", "b": [1, [2]]}
    assert localjson.read_json(tmp_path / "link", follow_links=True)["b"] == [1, [2]]
    with pytest.raises(FileNotFoundError):
        localjson.read_json(tmp_path / "missing")


@pytest.mark.parametrize("text, depth", [
    (b"1", 0), (b"[]", 1), (b'{"a": [1, {"b": []}]}', 4), (b'[{[{}]}]', 4),
    (b'{"a": "x\\"[[[[", "b": [[1]]}', 3),  # an escaped quote does not end the string
    (b'["]]]]", "[[[["]', 1), pytest.param(DEEP.encode(), 5000, id="5000-deep"),
])
def test_nesting_depth_counts_brackets_outside_strings(text, depth):
    from imagegen.localjson import nesting_depth

    assert nesting_depth(text) == depth


def test_deep_json_under_the_depth_cap_still_raises_one_error(tmp_path, monkeypatch):
    """Without the pre-scan (a cap set high), the parser's own RecursionError is caught too."""
    from imagegen import localjson

    (tmp_path / "deep").write_text(DEEP)
    with pytest.raises(localjson.LocalFileError, match="RecursionError"):
        localjson.read_json(tmp_path / "deep", max_depth=100_000)


def test_read_json_or_skip_notes_the_file_and_goes_on(tmp_path, capsys):
    from imagegen import localjson

    (tmp_path / "deep.json").write_text(DEEP)
    warnings: list[str] = []
    assert localjson.read_json_or_skip(tmp_path / "deep.json", "preset", warnings=warnings) is None
    assert localjson.read_json_or_skip(tmp_path / "gone.json", "preset", warnings=warnings) is None
    assert len(warnings) == 1 and "skipped preset" in warnings[0] and "deep.json" in warnings[0]
    assert "skipped preset" in capsys.readouterr().err


# -- the queue's files ------------------------------------------------------------------------

def drain(run, timeout: float = 30):
    return run("run_image_queue.py", "--queue-dir", QUEUE, "--idle-exit-sec", "0.05", "--retries", "0",
               "--orphan-timeout", "1", timeout=timeout)


def make_queue(run, workdir: Path) -> Path:
    doc = assert_one_json(run("enqueue_image_job.py", "--prompt", "A lighthouse at dusk, watercolour",
                              "--out", "out/a.png", "--request-id", "req", "--queue-dir", QUEUE))
    assert doc["status"] == "queued"
    return workdir / QUEUE


def age(path: Path, seconds: float = 3600) -> None:
    then = time.time() - seconds
    os.utime(path, (then, then), follow_symlinks=False)


def test_a_lease_naming_a_worker_outside_the_queue_deletes_nothing(run, fake, workdir, tmp_path):
    """worker_id "x/../../../../outside/victim": recovery would have unlinked outside/victim.lock."""
    queue = make_queue(run, workdir)
    outside = tmp_path / "outside"
    outside.mkdir()
    victim = outside / "victim.lock"
    victim.write_text("keep me\n")
    (queue / "workers" / "w-x").mkdir()  # so that the path through it resolves
    os.rename(queue / "pending" / "req--0000.json", queue / "running" / "req--0000.json")
    traversal = os.path.relpath(outside / "victim", queue / "workers" / "w-x")
    lease = queue / "running" / "req--0000.lease"
    lease.write_text(json.dumps({"worker_id": f"x/{traversal}", "heartbeat": 0, "host": "elsewhere"}))
    age(lease)
    summary = assert_one_json(drain(run))
    assert victim.read_text() == "keep me\n"
    assert summary["done"] == 1, summary  # the job was recovered from the bad lease and then run


@pytest.mark.parametrize("worker_id", ["../../x-1-0123abcd", "h/../../1-0123abcd", "a" * 300, 7, None, "h-1-XYZ",
                                       "h-1-0123abcd\n"])
def test_lease_worker_ids_are_checked(worker_id, tmp_path):
    from imagegen.queue import leases
    from imagegen.queue.layout import QueueDirs

    dirs = QueueDirs.at(tmp_path / "q").ensure()
    lease = dirs.lease_path("r--0000")
    lease.write_text(json.dumps({"worker_id": worker_id}))
    assert leases.read_lease(lease) is None
    if isinstance(worker_id, str):
        with pytest.raises(ValueError):
            leases.worker_alive(dirs, worker_id)


def test_an_id_read_from_a_file_ending_in_a_newline_is_refused():
    """A regular expression's $ also matches before a final newline: "r\\n" must not become a folder name."""
    from imagegen.queue.batch_records import valid_hold
    from imagegen.queue.layout import valid_job_id, valid_request_id

    assert valid_request_id("r") and valid_job_id("r--0000")
    assert not valid_request_id("r\n") and not valid_job_id("r--0000\n")
    assert not valid_hold("batch-r--0000\n-0123abcd")


def test_this_workers_own_id_is_a_valid_one(tmp_path, monkeypatch):
    from imagegen.queue import leases
    from imagegen.queue.layout import QueueDirs, valid_worker_id

    dirs = QueueDirs.at(tmp_path / "q").ensure()
    real = os.uname()
    monkeypatch.setattr(os, "uname", lambda: real._replace(nodename="../odd host/../name")
                        if hasattr(real, "_replace") else type(real)(real[:1] + ("../odd host/../name",) + real[2:]))
    worker = leases.Worker(dirs)
    try:
        assert valid_worker_id(worker.id) and worker.lock_path.parent == dirs.workers
        assert leases.worker_alive(dirs, worker.id)
    finally:
        worker.close()


@pytest.mark.subprocess
def test_a_fifo_lease_does_not_hang_a_drain(run, fake, workdir):
    queue = make_queue(run, workdir)
    os.mkfifo(queue / "running" / "ghost--0000.lease")
    age(queue / "running" / "ghost--0000.lease")
    summary = assert_one_json(drain(run, timeout=30))
    assert summary["done"] == 1, summary


def test_a_directory_in_place_of_a_pending_job_is_corrupt_and_the_others_run(run, fake, workdir):
    queue = make_queue(run, workdir)
    (queue / "pending" / "aa--0000.json").mkdir()
    summary = assert_one_json(drain(run))
    assert summary["done"] == 1 and summary["corrupt"] == 1, summary
    assert json.loads((queue / "failed" / "aa--0000.json").read_text())["error_kind"] == "corrupt_job"
    assert not (queue / "pending" / "aa--0000.json").exists()
    assert assert_one_json(drain(run))["done"] == 0  # nothing is left to stop a later drain


def test_a_directory_lease_is_set_aside_and_its_job_runs(run, fake, workdir):
    queue = make_queue(run, workdir)
    job = queue / "pending" / "req--0000.json"
    job.rename(queue / "running" / "req--0000.json")
    (queue / "running" / "req--0000.lease").mkdir()
    age(queue / "running" / "req--0000.lease")
    age(queue / "running" / "req--0000.json")
    summary = assert_one_json(drain(run))
    assert summary["done"] == 1, summary
    assert (workdir / "out" / "a.png").exists()
    assert not (queue / "running" / "req--0000.lease").exists()


@pytest.mark.subprocess
def test_a_fifo_in_place_of_the_recovery_lock_stops_the_drain_with_an_error(run, fake, workdir):
    queue = make_queue(run, workdir)
    os.mkfifo(queue / "workers" / "recovery.lock")
    result = drain(run, timeout=30)
    doc = assert_one_json(result)
    assert "a lock file must be one" in json.dumps(doc), doc


@pytest.mark.subprocess
def test_a_fifo_in_the_request_index_hangs_nothing(run, fake, workdir):
    queue = make_queue(run, workdir)
    os.mkfifo(queue / "index" / "req" / "0001")
    doc = assert_one_json(run("enqueue_image_job.py", "--prompt", "A fox in snow, watercolour", "--out", "out/b.png",
                              "--request-id", "req", "--queue-dir", QUEUE, timeout=30))
    assert doc["status"] == "queued" and doc["job_ids"] == ["req--0002"], doc
    status = assert_one_json(run("queue_status.py", "--queue-dir", QUEUE, "--request-id", "req", timeout=30))
    assert {job["job_id"] for job in status["jobs"]} == {"req--0000", "req--0002"}, status
    gallery = assert_one_json(run("gallery.py", "--queue-dir", QUEUE, "--request-id", "req", "--out", "g.html",
                                  timeout=30))
    assert gallery["success"], gallery


def test_index_records_naming_foreign_jobs_are_ignored(run, fake, workdir):
    queue = make_queue(run, workdir)
    (queue / "index" / "req" / "0001").write_text(json.dumps({"job_id": "../../../etc/passwd", "output": "x"}))
    (queue / "index" / "req" / "0002").write_text(json.dumps({"job_id": "other--0000", "output": "y"}))
    (queue / "index" / "req" / "0003").write_text(DEEP)
    status = assert_one_json(run("queue_status.py", "--queue-dir", QUEUE, "--request-id", "req"))
    assert [job["job_id"] for job in status["jobs"]] == ["req--0000"], status


def test_a_planted_job_with_a_deep_or_traversing_id_is_filed_as_corrupt(run, fake, workdir):
    queue = make_queue(run, workdir)
    (queue / "pending" / "deep--0000.json").write_text(DEEP)
    summary = assert_one_json(drain(run))
    assert summary["corrupt"] == 1 and summary["done"] == 1, summary
    assert json.loads((queue / "failed" / "deep--0000.json").read_text())["error_kind"] == "corrupt_job"


def test_batch_records_with_bad_ids_are_not_records(tmp_path):
    from imagegen.queue import batch_records
    from imagegen.queue.layout import QueueDirs

    dirs = QueueDirs.at(tmp_path / "q").ensure()
    good = {"name": "imagegen-20261206T000000-0123abcd", "provider": "openai", "model": "gpt-image-2",
            "request_id": "req", "state": "submitted", "jobs": [{"job_id": "req--0000"}], "batch_id": "batch_1"}
    path = batch_records.path_of(dirs, good["name"])
    for change in ({"batch_id": "../../files/x"}, {"batch_id": "b?x=1"}, {"request_id": "../x"},
                   {"jobs": [{"job_id": ".."}]}):
        path.write_text(json.dumps({**good, **change}))
        with pytest.raises(batch_records.CorruptRecord):
            batch_records.read(path)
    path.write_text(json.dumps(good))
    assert batch_records.read(path)["batch_id"] == "batch_1"
    path.unlink()
    os.mkfifo(path)
    with pytest.raises(batch_records.CorruptRecord, match="regular file"):
        batch_records.read(path)


# -- the gallery ------------------------------------------------------------------------------

def test_a_prompt_with_a_byte_that_is_not_utf8_makes_a_sidecar_the_gallery_shows(run, fake, workdir):
    """The prompt arrives as a lone surrogate (a command line in latin-1); its own sidecar then killed the page."""
    doc = assert_one_json(run("generate.py", "--prompt", "A caf\udce9 at dawn, watercolour", "--output-dir", "data"))
    assert doc["success"] and doc["warnings"] == [], doc
    (workdir / "data" / "bad\udcff.png").write_bytes((workdir / doc["path"]).read_bytes())
    gallery = assert_one_json(run("gallery.py", "--dir", "data"))
    assert gallery["success"] and gallery["cards"] == 2, gallery
    page = (workdir / "data" / "index.html").read_text(encoding="utf-8")
    assert "caf\ufffd at dawn" in page and "bad%FF.png" in page


@pytest.mark.parametrize("value", ["1e400", "-1e400", "NaN", "Infinity", "1" + "0" * 400])
def test_sidecar_numbers_that_are_not_finite_are_left_out(run, fake, workdir, value):
    from tests.fake_api import make_png

    (workdir / "data").mkdir()
    (workdir / "data" / "a.png").write_bytes(make_png(8, 8))
    (workdir / "data" / "a.png.json").write_text(
        f'{{"request": {{"prompt": "a fox"}}, "result": {{"generation_time_ms": {value}, "cost_usd": {value}}}}}')
    gallery = assert_one_json(run("gallery.py", "--dir", "data"))
    assert gallery["success"] and gallery["cards"] == 1 and gallery["total_cost_usd"] is None, gallery


@pytest.mark.subprocess
def test_deep_fifo_and_huge_sidecars_are_skipped_with_a_note(run, fake, workdir):
    from tests.fake_api import make_png

    (workdir / "data").mkdir()
    for name in ("deep", "fifo", "fine"):
        (workdir / "data" / f"{name}.png").write_bytes(make_png(8, 8))
    (workdir / "data" / "deep.png.json").write_text('{"request": ' * 5000 + "{}" + "}" * 5000)
    os.mkfifo(workdir / "data" / "fifo.png.json")
    os.mkfifo(workdir / "data" / "fifo.png.review.json")
    (workdir / "data" / "fine.png.json").write_text(json.dumps({"request": {"prompt": "a fine fox"}}))
    result = run("gallery.py", "--dir", "data", timeout=30)
    gallery = assert_one_json(result)
    assert gallery["success"] and gallery["cards"] == 3, gallery
    assert "skipped sidecar" in result.stderr and "deep.png.json" in result.stderr and "fifo.png.json" in result.stderr
    assert "a fine fox" in (workdir / "data" / "index.html").read_text()


@pytest.mark.subprocess
def test_the_gallery_reads_no_path_a_queue_record_names_outside_the_queues_folders(run, fake, workdir, tmp_path):
    queue = make_queue(run, workdir)
    outside = tmp_path / "outside"
    outside.mkdir()
    os.mkfifo(outside / "trap.png")  # a read of it would hang the gallery
    record = json.loads((queue / "pending" / "req--0000.json").read_text())
    record.update(status="done", result={"all_paths": [str(outside / "trap.png")]})
    (queue / "results" / "req--0000.json").write_text(json.dumps(record))
    (queue / "pending" / "req--0000.json").unlink()
    result = run("gallery.py", "--queue-dir", QUEUE, "--request-id", "req", "--out", "g.html", timeout=30)
    gallery = assert_one_json(result)
    assert gallery["success"] and gallery["images"] == 0 and gallery["failed"] == 1, gallery
    assert "outside the queue's folders" in result.stderr


# -- presets, caches, sidecars, reservations ----------------------------------------------------

def test_a_deep_user_preset_is_a_failed_check_not_a_crash(run, fake, workdir, env):
    presets = Path(env["XDG_CONFIG_HOME"]) / "image-gen" / "presets"
    presets.mkdir(parents=True)
    (presets / "deep.json").write_text('{"style": ' * 5000 + "{}" + "}" * 5000)
    os.mkfifo(presets / "pipe.json")
    result = run("preflight_check.py", "--json", timeout=30)
    doc = assert_one_json(result)
    assert "checks" in doc, doc
    failed = {check["name"]: check for check in doc["checks"] if check["kind"] == "preset" and not check["ok"]}
    assert "nested deeper" in failed["deep"]["detail"] and "pipe" not in failed, failed
    refused = assert_one_json(run("generate.py", "--prompt", "A fox in snow", "--preset", "deep", "--dry-run"))
    assert refused["error_kind"] == "preset" and "nested deeper" in refused["error"]


def test_a_deep_catalogue_cache_is_ignored(run, fake, workdir, env):
    from imagegen.models import catalogue

    path = workdir / "deep-catalogue.json"
    path.write_text('{"models": ' + "[" * 5000 + "]" * 5000 + ', "fetched_at_epoch": 1}')
    assert catalogue._read(path) is None


def test_a_deep_sidecar_leaves_review_to_ask_for_the_prompt(run, fake, workdir):
    from tests.fake_api import make_png

    (workdir / "a.png").write_bytes(make_png(8, 8))
    (workdir / "a.png.json").write_text('{"request": ' * 5000 + "{}" + "}" * 5000)
    result = run("review.py", "--image", "a.png")
    doc = assert_one_json(result)
    assert doc["success"] is False and doc["error_kind"] == "usage", doc  # no prompt known: say so, no crash
    assert "skipped sidecar" in result.stderr


def test_a_deep_reservation_line_is_stale_not_fatal(tmp_path):
    from imagegen.spending import reservations

    ledger = tmp_path / "ledger.jsonl"
    reservations.path_for(ledger).write_text(DEEP + "\n")
    assert reservations.read(ledger) == ([], True)


@pytest.mark.subprocess
def test_a_fifo_at_a_jobs_output_hangs_no_worker(run, fake, workdir):
    queue = make_queue(run, workdir)
    (workdir / "out").mkdir(exist_ok=True)
    os.mkfifo(workdir / "out" / "a.png")
    summary = assert_one_json(drain(run, timeout=30))
    assert summary["done"] == 0 and summary["failed"] == 1, summary
    assert json.loads((queue / "failed" / "req--0000.json").read_text())["error_kind"] == "output_exists"


@pytest.mark.subprocess
def test_a_fifo_as_the_reservations_file_hangs_no_budgeted_run(run, fake, workdir, env):
    state = Path(env["XDG_STATE_HOME"]) / "image-gen"
    state.mkdir(parents=True)
    os.mkfifo(state / "ledger.jsonl.reservations")
    result = run("generate.py", "--prompt", "A fox in snow, watercolour", "--output-dir", "out",
                 env_extra={"IMAGEGEN_DAILY_BUDGET_USD": "5"}, timeout=30)
    doc = assert_one_json(result)
    assert doc["warnings"] == []
    assert result.code in (0, 1), doc  # whatever the reservation step makes of it, it ends


@pytest.mark.subprocess
@pytest.mark.parametrize("args, budget", [
    (("spend.py",), None),
    (("spend.py", "--since", "today"), None),
    (("generate.py", "--prompt", "A fox in snow, watercolour", "--dry-run"), "5"),
    (("generate.py", "--prompt", "A fox in snow, watercolour", "--output-dir", "out"), "5"),
    (("generate.py", "--prompt", "A fox in snow, watercolour", "--output-dir", "out"), None),
])
def test_a_fifo_as_the_ledger_hangs_nothing_and_no_call_goes_unrecorded(run, fake, workdir, env, args, budget):
    state = Path(env["XDG_STATE_HOME"]) / "image-gen"
    state.mkdir(parents=True)
    os.mkfifo(state / "ledger.jsonl")
    extra = {"IMAGEGEN_DAILY_BUDGET_USD": budget} if budget else {}
    result = run(*args, env_extra=extra, timeout=30)
    doc = assert_one_json(result)
    assert result.code == 2 and doc["error_kind"] == "config" and "ledger" in doc["error"], doc
    assert fake.requests == []  # refused before anything was paid for


def test_a_jobs_file_line_nested_too_deep_is_a_usage_error(run, fake, workdir):
    (workdir / "jobs.jsonl").write_text('{"prompt": "a fox", "x": ' + DEEP + "}\n")
    result = run("enqueue_image_job.py", "--jobs-file", "jobs.jsonl", "--request-id", "r", "--queue-dir", QUEUE)
    doc = assert_one_json(result)
    assert result.code == 2 and "jobs.jsonl:1" in doc["error"] and "nested deeper" in doc["error"], doc


def test_review_loop_records_and_sidecars_deep_or_fifo_are_not_theirs(tmp_path):
    from imagegen.gallery import loops
    from imagegen.pipeline import loop_record, review_loop

    (tmp_path / "deep.json").write_text(DEEP)
    os.mkfifo(tmp_path / "fifo.json")
    for name in ("deep.json", "fifo.json"):
        assert loop_record.load(tmp_path / name, "a fox", "j--0000") is None
        assert loops._chosen(tmp_path / name) == (None, None, 0.0)
    (tmp_path / "a.png.json").write_text('{"request": ' * 5000 + "{}" + "}" * 5000)
    loop = review_loop.__dict__.get("ReviewLoop") or next(
        v for v in vars(review_loop).values() if isinstance(v, type) and hasattr(v, "_ours"))
    fake_self = type("S", (), {"job_id": "j--0000"})()
    assert loop._ours(fake_self, tmp_path / "a.png") is False


def test_a_job_another_worker_just_took_is_not_filed_as_corrupt(workdir, monkeypatch):
    """Two workers race for one pending job: the loser may look at its name just as the winner
    renames it away. A missing entry is someone else's claim, never a file that is not a job."""
    from imagegen import fsutil
    from imagegen.queue import leases, store
    from imagegen.queue.layout import QueueDirs

    dirs = QueueDirs.at(workdir / "q").ensure()
    store.enqueue(dirs, {"request_id": "race", "args": {"prompt": "x"}}, 0)
    slot = leases.acquire_slot(dirs, 2)
    worker = leases.Worker(dirs)
    real_lstat = os.lstat

    def winner_moves_it_just_after(path, *args, **kwargs):
        seen = real_lstat(path, *args, **kwargs)
        if str(path).endswith("race--0000.json") and "pending" in str(path):
            store.move(dirs, "race--0000", "pending", "running")  # the other worker's rename lands now
        return seen

    monkeypatch.setattr(fsutil.os, "lstat", winner_moves_it_just_after)
    try:
        assert leases.claim(dirs, "race--0000", worker) is None
    finally:
        monkeypatch.undo()
        worker.close()
        slot.release()
    assert list(dirs.checked("failed").glob("*.json")) == []


def test_only_an_entry_that_is_there_and_not_a_file_counts_as_odd(tmp_path):
    from imagegen.fsutil import holds_other_than_a_file

    (tmp_path / "job.json").write_text("{}")
    (tmp_path / "dir.json").mkdir()
    os.mkfifo(tmp_path / "fifo.json")
    assert holds_other_than_a_file(tmp_path / "dir.json") and holds_other_than_a_file(tmp_path / "fifo.json")
    assert not holds_other_than_a_file(tmp_path / "job.json")
    assert not holds_other_than_a_file(tmp_path / "gone.json")
