"""The tools' schemas come from one source: the commands' declared options and typed requests.

In-process and quick: a tool call's arguments must make exactly the request (and values) the same
command line makes, every argument must be an option of its command, and no schema may promise a
value its option's check refuses.
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

import pytest

from imagegen import validate
from imagegen.cli import from_flags, runner
from imagegen.cli.arguments import _flag_names, request_defaults
from imagegen.mcp import invoke, schemas, tools
from imagegen.mcp.watch import Watch
from imagegen.requests import EditRequest, GenerateRequest, InvalidRequest, ReviewRequest

REQUEST_OF = {GenerateRequest: from_flags.generate_request, EditRequest: from_flags.edit_request,
              ReviewRequest: from_flags.review_request}


def _parser(tool: tools.Tool) -> argparse.ArgumentParser:
    """The command's parser, built from the same declaration as the tool's arguments."""
    return runner.new_parser(f"{tool.name}.py", "", tool.options())


def test_every_argument_is_an_option_of_its_command_and_every_option_is_an_argument():
    for tool in tools.TOOLS:
        dests = {option.dest for option in tool.options() if option.flags and option.tool}
        names = {argument.name for argument in tool.arguments()} - {"inline_preview"}
        assert names == dests, tool.name
        flag_names = set(_flag_names(tool.options()))
        for argument in tool.arguments():  # each says what its option's help says, naming arguments, not flags
            assert argument.help and not flag_names & set(re.findall(r"--[a-z][a-z0-9-]*", argument.help)), argument


def test_a_terminal_only_option_is_no_argument():
    generate = {argument.name for argument in tools.BY_NAME["generate"].arguments()}
    assert not {"quiet", "clarify_hints", "save_preset", "fallback_model"} & generate
    assert "jobs_file" not in {argument.name for argument in tools.BY_NAME["enqueue"].arguments()}
    assert not {"table", "markdown"} & {argument.name for argument in tools.BY_NAME["models"].arguments()}


CASES = [
    ("generate", {"prompt": "A fox"}, ["--prompt", "A fox"]),
    ("generate", {"prompt": "A fox", "model": "nanobanana", "aspect_ratio": "16:9", "size": "1K", "seed": 7,
                  "style_refs": ["a.png", "b.png"], "n": 3, "must_keep": ["logo"], "lock_palette": False,
                  "sidecar": False, "max_cost": 0.5, "request_id": "r-1", "api": "images", "quality": "high",
                  "baseline_image": "in.png", "confirm_external_upload": True, "prompt_upsampling": False},
     ["--prompt", "A fox", "--model", "nanobanana", "--aspect-ratio", "16:9", "--size", "1K", "--seed", "7",
      "--style-ref", "a.png", "--style-ref", "b.png", "--n", "3", "--must-keep", "logo", "--no-lock-palette",
      "--no-sidecar", "--max-cost", "0.5", "--request-id", "r-1", "--api", "images", "--quality", "high",
      "--baseline-image", "in.png", "--confirm-external-upload", "--no-prompt-upsampling"]),
    ("edit", {"input_images": ["room.png"], "prompt": "A window"},
     ["--input-image", "room.png", "--prompt", "A window"]),
    ("edit", {"input_images": ["room.png", "b.png"], "prompt": "A window", "mask_rects": ["0,0,10,10", "5%,5%,1%,1%"],
              "mask_invert": True, "keep_unmasked": True, "openai_size": "1024x1024", "output_file": "o.png"},
     ["--input-image", "room.png", "--input-image", "b.png", "--prompt", "A window", "--mask-rect", "0,0,10,10",
      "--mask-rect", "5%,5%,1%,1%", "--mask-invert", "--keep-unmasked", "--openai-size", "1024x1024",
      "--output-file", "o.png"]),
    ("review", {"image": "a.png"}, ["--image", "a.png"]),
    ("review", {"image": "a.png", "compare": "b.png", "auto": True, "review_file": False, "provider": "openrouter"},
     ["--image", "a.png", "--compare", "b.png", "--auto", "--no-review-file", "--provider", "openrouter"]),
    ("enqueue", {"prompt": "A fox", "output_file": "g/a.png"}, ["--prompt", "A fox", "--out", "g/a.png"]),
    ("enqueue_variants", {"prompt": "A fox", "count": 3, "prefix": "fox"},
     ["--prompt", "A fox", "--count", "3", "--prefix", "fox"]),
]


@pytest.mark.parametrize("name, arguments, argv", CASES)
def test_a_call_makes_the_request_its_command_line_makes(name, arguments, argv):
    tool = tools.BY_NAME[name]
    request, _ = invoke.check_arguments(tool, arguments)
    assert request == REQUEST_OF[tool.request](_parser(tool).parse_args(argv))


def _plain(value):
    if isinstance(value, (list, tuple)):
        return tuple(_plain(item) for item in value)
    return str(value) if isinstance(value, Path) else value


@pytest.mark.parametrize("name, arguments, argv", [
    *[case for case in CASES if case[0].startswith("enqueue")],
    ("enqueue", {"prompt": "A fox", "queue_dir": "q", "variant_index": 3, "request_id": "chat-1"},
     ["--prompt", "A fox", "--queue-dir", "q", "--variant-index", "3", "--request-id", "chat-1"]),
    ("queue_status", {}, []),
    ("queue_status", {"request_id": "r1", "wait": True, "timeout": 5, "queue_dir": "q"},
     ["--request-id", "r1", "--wait", "--timeout", "5", "--queue-dir", "q"]),
    ("models", {"alias": "nanobanana", "refresh": True}, ["--alias", "nanobanana", "--refresh"]),
    ("spend", {"since": "7d", "request_id": "r1"}, ["--since", "7d", "--request-id", "r1"]),
    ("preflight", {"online": True, "output_dir": "out", "max_attempts": 3},
     ["--online", "--output-dir", "out", "--max-attempts", "3"]),
])
def test_a_call_makes_the_values_its_command_line_makes(name, arguments, argv):
    """Every argument the tool's library call gets has the value the command line gives its handler."""
    tool = tools.BY_NAME[name]
    request, values = invoke.check_arguments(tool, arguments)
    parsed = vars(_parser(tool).parse_args(argv))
    for argument in tool.arguments():
        if argument.name == "inline_preview":
            continue
        given = getattr(request, argument.name) if argument.in_request else values[argument.name]
        expected = parsed[argument.name]
        if argument.in_request and expected is None and given == ():
            continue  # an unrepeated list flag is None on the command line, () in a request
        assert _plain(given) == _plain(expected), argument.name


@pytest.mark.parametrize("name, arguments, words", [
    ("generate", {}, "no 'prompt'"),
    ("generate", {"prompt": "A fox", "n": 11}, "must be from 1 to 10"),
    ("generate", {"prompt": "A fox", "aspect_ratio": "7:3"}, "unknown aspect ratio"),
    ("generate", {"prompt": "A fox", "lock_palette": "yes"}, "not true or false"),
    ("generate", {"prompt": "A fox", "style_refs": "a.png"}, "not a list"),
    ("generate", {"prompt": "A fox", "clarify_hints": True}, "takes no argument clarify_hints"),
    ("generate", {"prompt": "A fox", "fallback_model": "x"}, "takes no argument fallback_model"),
    ("generate", {"prompt": "A fox", "timeout": float("inf")}, "must be greater than 0"),
    ("edit", {"prompt": "x"}, "no 'input_images'"),
    ("edit", {"input_images": ["a.png"], "prompt": "x", "mask_rects": ["1,2,3"]}, "expected X,Y,W,H"),
    ("queue_status", {"max_background_workers": 65}, "must be from 1 to 64"),
    ("spend", {"request_id": "a/b"}, "not a usable id"),
    ("models", {"alias": None, "refresh": None}, "may not be null"),
])
def test_bad_arguments_are_refused_by_the_flags_rules(name, arguments, words):
    with pytest.raises(InvalidRequest) as caught:
        invoke.check_arguments(tools.BY_NAME[name], arguments)
    assert words in caught.value.message


SAMPLES = [True, False, 0, 1, -1, 3, 10, 11, 64, 65, 9999, 10000, 0.5, 1024.5, "", "x", "2K", "2k", "16:9", "7:3",
           "a/b", "auto", "1024x1024", "0,0,10,10", "low", "png", [], ["x"], [1], ["0,0,1,1"], {}, None]


def test_no_schema_promises_a_value_its_check_refuses():
    jsonschema = pytest.importorskip("jsonschema", reason="jsonschema (installed with the mcp test extra) checks this")
    for tool in tools.TOOLS:
        for argument in tool.arguments():
            schema = argument.schema()
            jsonschema.Draft202012Validator.check_schema(schema)
            validator = jsonschema.Draft202012Validator(schema)
            for value in SAMPLES + list(schema.get("enum", [])) + list(schema.get("examples", [])):
                if validator.is_valid(value):
                    argument.field.check(value)  # raises ValueError if the schema promised too much


def test_output_schemas_are_self_contained_and_well_formed():
    jsonschema = pytest.importorskip("jsonschema", reason="jsonschema (installed with the mcp test extra) checks this")
    for tool in tools.TOOLS:
        schema = schemas.output_schema(tool.outputs)
        assert "$ref" not in json.dumps(schema) and schema["type"] == "object"
        jsonschema.Draft202012Validator.check_schema(schema)
        assert {"success", "error_kind"} <= set(json.dumps(schema["anyOf"][-1]["properties"]).replace('"', " ").split())


def test_schema_of_describes_the_checks():
    assert validate.schema_of(validate.count) == {"type": "integer", "minimum": 1, "maximum": validate.MAX_COUNT}
    assert validate.schema_of(validate.choice("a", "b")) == {"enum": ["a", "b"]}
    assert validate.schema_of(validate.list_of(validate.ratio))["items"]["enum"][0] == "1:1"
    assert validate.schema_of(lambda value: value) == {}
    assert "enum" in validate.schema_of(validate.size) and "2K" in validate.schema_of(validate.size)["enum"]


def test_defaults_follow_the_flags():
    edit = {argument.name: argument for argument in tools.BY_NAME["edit"].arguments()}
    assert request_defaults(tools.BY_NAME["edit"].options(), EditRequest)["fallback_model"] == "gpt-5-image"
    assert edit["n"].schema()["default"] == 1 and edit["sidecar"].schema()["default"] is True
    assert edit["sidecar"].help.startswith("false: ")
    preflight = {argument.name: argument for argument in tools.BY_NAME["preflight"].arguments()}
    assert preflight["output_dir"].schema()["default"] == "data"
    assert preflight["output_dir"].convert("x") == Path("x")
    generate = {argument.name: argument for argument in tools.BY_NAME["generate"].arguments()}
    assert "confirm_external_upload" in generate["baseline_image"].help  # flags are named as arguments
    assert "lock_palette" not in generate["baseline_image"].help


# -- a tool and its command make one library call --------------------------------------------------

VOLATILE = {"elapsed_ms", "generation_time_ms", "checked_at", "duration_ms"}


def _same(document: dict) -> dict:
    return {key: value for key, value in document.items() if key not in VOLATILE}


@pytest.fixture
def as_tool(env, workdir, monkeypatch):
    """A tool called in-process as the MCP server would, in the same folder and environment as ``run``."""
    import os

    for key in list(os.environ):
        if key not in env:
            monkeypatch.delenv(key)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.chdir(workdir)
    return lambda name, arguments: invoke.invoke(tools.BY_NAME[name], arguments, Watch())


@pytest.mark.parametrize("name, arguments, script, argv", [
    ("enqueue", {"prompt": "A fox", "output_file": "a.png", "request_id": "r-1", "queue_dir": "q", "dry_run": True},
     "enqueue_image_job.py", ["--prompt", "A fox", "--out", "a.png", "--request-id", "r-1", "--queue-dir", "q",
                              "--dry-run"]),
    ("enqueue_variants", {"prompt": "A fox", "count": 2, "prefix": "fox", "request_id": "r-2", "queue_dir": "q",
                          "dry_run": True, "timeout": 30, "via": "batch", "model": "nanobanana-2"},
     "enqueue_variants.py", ["--prompt", "A fox", "--count", "2", "--prefix", "fox", "--request-id", "r-2",
                             "--queue-dir", "q", "--dry-run", "--timeout", "30", "--via", "batch",
                             "--model", "nanobanana-2"]),
    ("enqueue_variants", {"prompt": "A fox", "count": 2, "request_id": "r-4", "queue_dir": "q", "dry_run": True,
                          "request_max_cost": 5, "max_cost": 1},
     "enqueue_variants.py", ["--prompt", "A fox", "--count", "2", "--request-id", "r-4", "--queue-dir", "q",
                             "--dry-run", "--max-cost", "5", "--max-cost-per-job", "1"]),
    ("enqueue", {"prompt": "A fox", "request_id": "r-5", "queue_dir": "q", "request_max_cost": 0.0001},
     "enqueue_image_job.py", ["--prompt", "A fox", "--request-id", "r-5", "--queue-dir", "q", "--max-cost", "0.0001"]),
    ("models", {"alias": "nanobanana"}, "models.py", ["--alias", "nanobanana"]),
    ("spend", {"since": "7d", "request_id": "r-1"}, "spend.py", ["--since", "7d", "--request-id", "r-1"]),
    ("queue_status", {"queue_dir": "nowhere"}, "queue_status.py", ["--queue-dir", "nowhere"]),
])
def test_a_tool_gives_the_document_its_command_line_gives(name, arguments, script, argv, run, as_tool):
    assert _same(as_tool(name, arguments)) == _same(json.loads(run(script, *argv).stdout))


def test_queue_tools_read_what_the_queue_scripts_wrote(run, as_tool):
    queued = json.loads(run("enqueue_image_job.py", "--prompt", "A fox", "--out", "a.png", "--request-id", "r-3",
                            "--queue-dir", "q").stdout)
    again = as_tool("enqueue", {"prompt": "A fox", "output_file": "a.png", "request_id": "r-3", "queue_dir": "q"})
    assert again["job_ids"] == queued["job_ids"] and again["jobs"][0]["created"] is False  # the same job, once
    for arguments, argv in (({"queue_dir": "q", "request_id": "r-3"}, ["--queue-dir", "q", "--request-id", "r-3"]),
                            ({"queue_dir": "q"}, ["--queue-dir", "q"])):
        assert _same(as_tool("queue_status", arguments)) == _same(json.loads(run("queue_status.py", *argv).stdout))


def test_preflight_tool_reports_what_the_command_reports(run, as_tool):
    tool = as_tool("preflight", {"output_dir": "out"})
    command = json.loads(run("preflight_check.py", "--json", "--output-dir", "out").stdout)
    assert [(c["name"], c["ok"]) for c in tool["checks"]] == [(c["name"], c["ok"]) for c in command["checks"]]
    assert tool["success"] is command["success"] and tool["status"] == command["status"]
