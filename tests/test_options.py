"""Each option is declared once (``cli.options`` rows): the parsers, the tool arguments and the
jobs-file keys are built from the declaration, never read back out of argparse.

In-process and quick: the declarations are well formed, every command's parser is built from its
own, an option that fills a request field is held to that field's rule, and no module under
scripts/ touches argparse's private API or reaches a command by name.
"""

from __future__ import annotations

import argparse
import ast
import re
from pathlib import Path

import pytest

from imagegen import validate
from imagegen.cli import command_options, jobs_file, options, reference, runner
from imagegen.cli.options import Option
from imagegen.errors import UsageError
from imagegen.mcp import tools
from imagegen.requests import EditRequest, GenerateRequest, ReviewRequest
from tests.conftest import SCRIPTS

COMMANDS = reference.commands()


def _declared(name: str) -> tuple[Option, ...]:
    return getattr(command_options, name)()


def _in_usage(option: Option) -> set[str]:
    """How the usage line names an option: by its first flag (a toggle by both of its forms)."""
    if not option.flags:
        return set()
    first = option.flags[0]
    return {first, f"--no-{first[2:]}"} if option.action == "toggle" else {first}


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_parser_is_built_from_its_declaration(name):
    parser = COMMANDS[name].build_parser()
    assert parser.declared == _declared(name)
    options.check_declaration(parser.declared)
    usage = set(re.findall(r"(?<![\w-])--[a-z][a-z0-9-]*", parser.format_usage()))
    declared = {flag for option in parser.declared for flag in _in_usage(option)}
    assert usage == declared | {"--version"}  # argparse was handed every declared option, and nothing else
    helped = parser.format_help()
    assert all(flag in helped for option in parser.declared for flag in option.spellings())


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_a_command_line_without_flags_gives_each_option_its_declared_default(name):
    argv = {"generate": ["--prompt", "x"], "generate_image": ["--prompt", "x"], "edit": ["--prompt", "x",
            "--input-image", "a.png"], "review": ["--image", "a.png"], "enqueue_variants": ["--prompt", "x"],
            "queue_and_return": ["--prompt", "x"], "gallery": ["--dir", "d"]}.get(name, [])
    parsed = vars(COMMANDS[name].build_parser().parse_args(argv))
    for option in _declared(name):
        if option.dest not in ("prompt", "input_images", "image", "dir"):
            assert parsed[option.dest] == option.initial(), option.dest


def test_a_bad_declaration_is_refused():
    with pytest.raises(ValueError, match="declared twice"):
        options.check_declaration((Option(("--a",), "a"), Option(("--a",), "b")))
    with pytest.raises(ValueError, match="unknown action"):
        options.check_declaration((Option(("--a",), "a", action="many"),))
    with pytest.raises(ValueError, match="only a const"):
        options.check_declaration((Option((), "a"),))


def test_one_of_an_exclusive_group_is_required_when_its_options_say_so():
    parser = runner.new_parser("x.py", "", (Option(("--a",), "a", required=True, exclusive="src"),
                                        Option(("--b",), "b", required=True, exclusive="src")))
    assert parser.parse_args(["--b", "1"]).b == "1"
    for argv in ([], ["--a", "1", "--b", "2"]):
        with pytest.raises(UsageError):
            parser.parse_args(argv)


REQUESTS = {"generate": GenerateRequest, "generate_image": GenerateRequest, "enqueue_image_job": GenerateRequest,
            "enqueue_variants": GenerateRequest, "queue_and_return": GenerateRequest, "edit": EditRequest,
            "review": ReviewRequest}
SAMPLES = ["0", "1", "-1", "3", "10", "11", "0.5", "1e309", "nan", "2K", "2k", "16:9", "7:3", "a/b", "auto", "low",
           "png", "1024x1024", "0,0,10,10", "x", "", "palette=#112233", "../x"]


@pytest.mark.parametrize("name", sorted(REQUESTS))
def test_an_option_that_fills_a_request_field_accepts_what_the_field_accepts(name):
    """A flag and a stored job are held to one rule: the flag's check and the field's agree on every sample."""
    fields = {field.name: field for field in REQUESTS[name].FIELDS}
    for option in _declared(name):
        if option.dest not in fields or option.action in ("true", "false", "toggle", "const") or option.check is None:
            continue
        if option.flags == ("--image-size",):
            continue  # another spelling of --size: low/medium/high become 1K/2K/4K
        field_check = fields[option.dest].check
        for sample in SAMPLES:
            value = [sample] if option.action == "list" else sample
            try:
                expected = field_check(value)
            except ValueError:
                expected = ValueError
            try:
                got = option.check(sample)
                got = (got,) if option.action == "list" else got
            except ValueError:
                got = ValueError
            assert got == expected, (name, option.dest, sample)


def test_the_jobs_file_keys_are_the_enqueuers_options():
    keys = jobs_file.line_keys(command_options.enqueue_image_job())
    assert {"prompt", "model", "style_refs", "n", "output_file", "baseline_image", "max_cost"} <= set(keys)
    command_only = {"timeout", "retries", "request_id", "fallback_model", "dry_run", "quiet", "via", "jobs_file"}
    assert not command_only & set(keys)
    assert keys["out"].field == "output_file" and keys["count"].field == "n" and keys["style_ref"].field == "style_refs"
    assert keys["no_sidecar"] == jobs_file.LineKey("sidecar", True) and keys["sidecar"] == jobs_file.LineKey("sidecar")
    assert keys["no_lock_palette"].negated and not keys["lock_palette"].negated
    assert keys["image_size"].field == "size" and keys["image_size"].convert("low") == "1K"
    assert keys["size"].convert is None  # the field's own rule checks it, in Request.from_json
    assert keys["max_cost_per_job"].field == "max_cost" and "request_max_cost" not in keys  # a job caps itself only


def test_the_queue_scripts_compose_the_generation_options_with_their_own():
    variants = {option.dest: option for option in command_options.enqueue_variants()}
    assert "output_file" not in variants and "output_dir" not in variants  # names come from --out-dir, --prefix
    assert variants["n"].flags == ("--n",) and variants["count"].flags == ("--count",)
    assert variants["timeout"].default is None and variants["retries"].default is None  # the worker's apply
    enqueue = {option.dest: option for option in command_options.enqueue_image_job()}
    assert enqueue["n"].flags == ("--n", "--count") and not enqueue["prompt"].required
    assert enqueue["request_id"].group == "queue"


def test_every_tool_takes_its_commands_declaration():
    for tool in tools.TOOLS:
        assert tool.options in (command_options.generate, command_options.edit, command_options.review,
                                command_options.enqueue_image_job, command_options.enqueue_variants,
                                command_options.queue_status, command_options.models, command_options.spend,
                                command_options.preflight_check)
        assert tool.run.__module__ == "imagegen.mcp.adapters", tool.name


# -- what scripts/ may not do ----------------------------------------------------------------------

def _private_argparse_names() -> set[str]:
    """argparse's private names: its module's, its classes' and the attributes its objects carry."""
    parser = argparse.ArgumentParser()
    group = parser.add_argument_group("g")
    action = parser.add_argument("--x")
    objects = [argparse, argparse.ArgumentParser, argparse._ActionsContainer, argparse.Action, parser, group,
               action, parser.add_mutually_exclusive_group(), argparse.HelpFormatter, argparse.Namespace]
    names = {name for thing in objects for name in [*dir(thing), *getattr(thing, "__dict__", {})]}
    return {name for name in names if name.startswith("_") and not name.startswith("__") and name != "_"}


def _sources() -> list[Path]:
    return sorted(SCRIPTS.rglob("*.py"))


def test_no_module_uses_argparse_private_api():
    private = _private_argparse_names()
    assert {"_actions", "_remove_action", "_option_string_actions", "_AppendAction", "_group_actions",
            "_get_formatter", "_format_action", "_split_lines"} <= private
    found = []
    for path in _sources():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Attribute) and node.attr in private:
                found.append(f"{path.relative_to(SCRIPTS)}:{node.lineno}: .{node.attr}")
            elif isinstance(node, ast.ImportFrom) and node.module == "argparse":
                found += [f"{path.relative_to(SCRIPTS)}:{node.lineno}: {alias.name}" for alias in node.names
                          if alias.name in private]
            elif isinstance(node, ast.ClassDef) and any("argparse" in ast.unparse(base) for base in node.bases):
                # a subclass that overrides one of argparse's private methods depends on it as much
                found += [f"{path.relative_to(SCRIPTS)}:{item.lineno}: def {item.name}" for item in node.body
                          if isinstance(item, ast.FunctionDef) and item.name in private]
    assert not found, "argparse's private API: " + ", ".join(found)


def test_no_module_reaches_a_command_by_name():
    found = []
    for path in _sources():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                names = [alias.name for alias in node.names] + [getattr(node, "module", None) or ""]
                if any(name.split(".")[0] == "importlib" for name in names):
                    found.append(f"{path.relative_to(SCRIPTS)}:{node.lineno}")
            elif isinstance(node, ast.Name) and node.id == "__import__":
                found.append(f"{path.relative_to(SCRIPTS)}:{node.lineno}")
    assert not found, "importlib in " + ", ".join(found)


def test_the_mcp_server_never_imports_a_command():
    for path in sorted((SCRIPTS / "imagegen" / "mcp").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom):
                module = ("." * node.level) + (node.module or "")
                named = [module] + [f"{module}.{alias.name}" for alias in node.names]
                assert not any(name.lstrip(".").startswith("commands") and name.startswith("..")
                               or name.startswith("imagegen.commands") for name in named), (path.name, named)


def test_schema_of_a_declared_check_is_the_shared_checks():
    option = next(o for o in command_options.generate() if o.dest == "n")
    assert validate.schema_of(option.check) == {"type": "integer", "minimum": 1, "maximum": validate.MAX_COUNT}


def test_only_the_declaration_adds_flags_to_a_parser():
    """Every flag reaches argparse through ``options.add_to``: no command adds one of its own."""
    builders = {"add_argument", "add_argument_group", "add_mutually_exclusive_group", "set_defaults",
                "ArgumentParser"}
    allowed = {Path("imagegen/cli/options.py"), Path("imagegen/cli/runner.py")}  # the rows' builder, --version
    found = []
    for path in _sources():
        if path.relative_to(SCRIPTS) in allowed:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            called = node.func if isinstance(node, ast.Call) else None
            name = getattr(called, "attr", getattr(called, "id", None))
            if name in builders:
                found.append(f"{path.relative_to(SCRIPTS)}:{node.lineno}: {name}")
    assert not found, "flags added outside the declaration: " + ", ".join(found)


def test_help_text_is_wrapped_at_spaces_only():
    from imagegen.cli.options import HELP_WIDTH, wrapped

    text = "use --baseline-source-kind current_attachment when the image came with the message " * 3
    lines = wrapped(text).split("\n")
    assert all(len(line) <= HELP_WIDTH for line in lines)
    assert " ".join(lines) == " ".join(text.split())  # every word kept whole, none split at a hyphen
    assert wrapped(wrapped(text)) == wrapped(text)  # wrapping again changes nothing
    long_word = "x" * (HELP_WIDTH + 5)
    assert wrapped(f"a {long_word} b").split("\n") == ["a", long_word, "b"]
    assert wrapped("") == ""


def test_help_fits_an_80_column_terminal_whatever_the_terminal(run):
    for columns in ("40", "200"):
        result = run("generate.py", "--help", env_extra={"COLUMNS": columns})
        assert result.code == 0
        options = result.stdout.split("\noptions:\n", 1)[1]  # below the usage, description and examples
        too_long = [line for line in options.splitlines() if len(line) > 80 and not line.lstrip().startswith("--")]
        assert not too_long, too_long
        assert "--baseline-source-\n" not in result.stdout


def test_an_installed_commands_help_fits_80_columns_with_its_command_names(monkeypatch):
    """An installed command's help names its siblings by their longer command names (image-gen-review for
    review.py): its option help is wrapped as it is shown, names and all, not before they were put in."""
    import importlib

    from imagegen.names import COMMANDS

    for script, command in COMMANDS.items():
        monkeypatch.setattr("sys.argv", [f"/venv/bin/{command}"])
        text = importlib.import_module(f"imagegen.commands.{script[:-3]}").build_parser().format_help()
        options = text.split("\noptions:\n", 1)[1]
        too_long = [line for line in options.splitlines()
                    if len(line) > 80 and not line.lstrip().startswith("-") and len(line.split()) > 1
                    and "references/" not in line]  # a document's installed path is as long as where it is
        assert not too_long, (command, too_long)


def test_help_shown_twice_is_the_same_and_keeps_its_percent_signs():
    from imagegen.cli.options import HELP_WIDTH, Option
    from imagegen.cli.runner import new_parser

    words = Option(("--words",), "words", help="100%% sure, " + "and then some more words " * 6)
    parser = new_parser("probe.py", "probe", [words, Option(("--empty",), "empty")])
    options = parser.format_help().split("\noptions:\n", 1)[1]
    assert "100% sure, and then" in " ".join(options.split())
    assert all(len(line) <= 24 + HELP_WIDTH for line in options.splitlines()), options
    assert parser.format_help() == parser.format_help()  # shown twice, the same
