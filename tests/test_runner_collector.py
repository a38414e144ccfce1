"""The cyclic collector in a command's life: tuned only when the process is the command.

``run_cli`` called with ``argv=None`` is a script run from its own command line (the shims and the
installed commands): it collects less often and freezes what is left once its document is out, so
the interpreter's exit does not scan every start-up object again. Called with an argv (the MCP
server, the worker's jobs, the tests' in-process runner) it leaves the collector as it found it.
"""

from __future__ import annotations

import gc
import io
import sys

import pytest

from imagegen.cli import runner


@pytest.fixture
def collector():
    threshold = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*threshold)


def _run(monkeypatch, argv: list[str] | None) -> tuple[int, str]:
    parser = runner.new_parser("probe.py", "probe")
    seen: dict[str, object] = {}

    def handler(args, context):
        seen["threshold"] = gc.get_threshold()[0]
        seen["frozen"] = gc.get_freeze_count()
        return {}

    stdout = io.StringIO()
    monkeypatch.setattr(sys, "argv", ["probe.py"])
    monkeypatch.setattr(sys, "stdout", stdout)
    code = runner.run_cli(parser, handler, argv)
    assert seen["frozen"] == 0  # nothing frozen while the command works: its garbage is collected
    return code, str(seen["threshold"])


def test_own_command_line_collects_less_often_and_freezes_at_the_end(monkeypatch, collector):
    gc.unfreeze()
    code, threshold = _run(monkeypatch, None)
    assert code == 0
    assert int(threshold) == runner.COLLECT_EVERY
    assert gc.get_freeze_count() > 0


def test_an_argv_from_a_caller_leaves_the_collector_alone(monkeypatch, collector):
    gc.unfreeze()
    before = gc.get_threshold()
    code, threshold = _run(monkeypatch, [])
    assert code == 0
    assert gc.get_threshold() == before and int(threshold) == before[0]
    assert gc.get_freeze_count() == 0


def test_a_failing_command_still_freezes(monkeypatch, collector):
    gc.unfreeze()
    parser = runner.new_parser("probe.py", "probe")

    def handler(args, context):
        raise RuntimeError("boom")

    monkeypatch.setattr(sys, "argv", ["probe.py"])
    monkeypatch.setattr(sys, "stdout", io.StringIO())
    monkeypatch.setattr(sys, "stderr", io.StringIO())
    assert runner.run_cli(parser, handler, None) != 0
    assert gc.get_freeze_count() > 0
