"""Every error_kind the code can produce is an ErrorKind, and every ErrorKind is documented."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from imagegen.contract import as_error, error_document
from imagegen.error_kinds import ErrorKind, is_error_kind
from imagegen.errors import ImageGenError, UsageError

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "scripts" / "imagegen"


KIND_NAMES = frozenset({"kind", "error_kind"})
_KIND_FUNCTION = re.compile(r"kind|classify")  # a function of that name returning str returns a kind
_NAME = re.compile(r"[a-z][a-z_]*")


def _literals(node: ast.AST | None) -> list[ast.Constant]:
    """The string constants an expression can evaluate to: ``"x"``, ``"x" if c else "y"``, ``k or "x"``."""
    if isinstance(node, ast.Constant):
        return [node] if isinstance(node.value, str) and _NAME.fullmatch(node.value) else []
    if isinstance(node, ast.IfExp):
        return _literals(node.body) + _literals(node.orelse)
    if isinstance(node, ast.BoolOp):
        return [found for value in node.values for found in _literals(value)]
    return []


def _target_name(node: ast.AST) -> str | None:
    return node.id if isinstance(node, ast.Name) else node.attr if isinstance(node, ast.Attribute) else None


def _defaults(function: ast.FunctionDef | ast.AsyncFunctionDef) -> dict[str, ast.expr]:
    """A function's parameters that have a default -> that default."""
    positional = [*function.args.posonlyargs, *function.args.args]
    found = dict(zip([arg.arg for arg in positional[len(positional) - len(function.args.defaults):]],
                     function.args.defaults, strict=True))
    found.update({arg.arg: default for arg, default in zip(function.args.kwonlyargs, function.args.kw_defaults,
                                                           strict=True)
                  if default is not None})
    return found


def _kind_table(node: ast.Dict, members: set[str]) -> bool:
    """Whether a dict literal maps something to error kinds: every value a name, most of them kinds (a
    table of ledger outcomes shares two names with the kinds, no more)."""
    values = [value.value for value in node.values if isinstance(value, ast.Constant)]
    return (len(values) == len(node.values) >= 2 and all(isinstance(value, str) and _NAME.fullmatch(value)
                                                           for value in values)
            and sum(value in members for value in values) * 2 > len(values))


def _kinds_in(tree: ast.AST, where: str, members: set[str]) -> dict[str, str]:
    """Each string literal ``tree`` gives as an error kind -> where it was first seen: ``kind = ...``
    (a class attribute, a variable, an attribute), ``kind=`` and ``error_kind=`` keywords (a
    parameter passed on gives its default), ``provider_error(...)``, ``{"error_kind": ...}`` entries,
    the values of tables that map a provider's words to kinds, and what a function named for kinds
    (``classify_status``) returns."""
    literals: list[ast.Constant] = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if any(_target_name(target) in KIND_NAMES for target in targets):
                literals += _literals(node.value)
        elif isinstance(node, ast.Call):
            literals += [found for keyword in node.keywords if keyword.arg in KIND_NAMES
                         for found in _literals(keyword.value)]
            if _target_name(node.func) == "provider_error" and node.args:
                literals += _literals(node.args[0])
        elif isinstance(node, ast.Dict):
            literals += [found for key, value in zip(node.keys, node.values, strict=True)
                         if isinstance(key, ast.Constant) and key.value == "error_kind" for found in _literals(value)]
            if _kind_table(node, members):
                literals += [found for value in node.values for found in _literals(value)]
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            if _KIND_FUNCTION.search(node.name) and node.returns is not None and ast.unparse(node.returns) == "str":
                literals += [found for inner in ast.walk(node) if isinstance(inner, ast.Return)
                             for found in _literals(inner.value)]
            defaults = _defaults(node)
            for call in ast.walk(node):
                if isinstance(call, ast.Call):
                    literals += [found for keyword in call.keywords if keyword.arg in KIND_NAMES
                                 and isinstance(keyword.value, ast.Name) and keyword.value.id in defaults
                                 for found in _literals(defaults[keyword.value.id])]
    found: dict[str, str] = {}
    for literal in literals:
        found.setdefault(literal.value, f"{where}:{literal.lineno}")
    return found


def _kinds_in_code() -> dict[str, str]:
    """Each string literal the package gives as an error kind -> where it was first seen."""
    members = {kind.value for kind in ErrorKind}
    found: dict[str, str] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        if path.name == "error_kinds.py":
            continue
        for kind, where in _kinds_in(ast.parse(path.read_text(encoding="utf-8")), path.name, members).items():
            found.setdefault(kind, where)
    return found


def test_the_scan_sees_every_way_the_code_names_a_kind():
    """The scan is only as good as what it recognises: one example of each way it knows."""
    code = """
class Refused(Exception):
    kind = "one"
def fail(why="two"):
    kind = "three" if why else "four"
    record(error_kind=why, kind=kind)
    raise Error("x", kind="five")
entry = {"at": 0, "error_kind": "six"}
error = provider_error("seven", "message")
TYPES = {"a": "eight", "b": "auth", "c": "credits"}
OUTCOMES = {"a": "auth", "b": "credits", "c": "saved", "d": "sent"}
def classify(status: int) -> str:
    return "nine" if status else "ten"
def is_kind(value: str) -> bool:
    return "not_a_kind"

text = {"x": "a batch", "kind": "dir", "error_kind": "not_me" + "x"}
"""
    found = _kinds_in(ast.parse(code), "example", {"auth", "credits"})
    assert set(found) == {"one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
                          "auth", "credits"}
    # and in the package: a history entry, a ledger line's default, a provider's table, an IfExp
    in_code = _kinds_in_code()
    assert {"batch", "worker_lost", "expired", "no_endpoint", "batch_failed", "missing_key"} <= set(in_code)


def test_every_kind_the_code_raises_is_an_error_kind():
    members = {kind.value for kind in ErrorKind}
    stray = {kind: where for kind, where in _kinds_in_code().items() if kind not in members}
    assert not stray, f"error kinds missing from ErrorKind: {stray}"


def test_every_error_kind_is_documented_in_the_contract():
    """Documented where a reader looks for them: the section on error kinds, or the job-level kinds
    of the queue's job records (a word in backquotes elsewhere, a flag's or a field's, is no entry)."""
    text = (ROOT / "references" / "contract.md").read_text(encoding="utf-8")
    section = text.split("## Exit codes and error kinds", 1)[1].split("\n## ", 1)[0]
    job_level = re.search(r"Job-level `error_kind` values.*?(?=\n\n)", text, re.DOTALL)
    assert job_level, "references/contract.md lost its paragraph of job-level error kinds"
    documented = set(re.findall(r"`([a-z_]+)`", section + job_level[0]))
    missing = [kind.value for kind in ErrorKind if kind.value not in documented]
    assert not missing, f"undocumented error kinds in references/contract.md: {missing}"


def test_an_error_kind_is_written_as_its_bare_value():
    error = ImageGenError("x", kind=ErrorKind.BUDGET)
    assert f"{error.kind}" == "budget" and str(error.kind) == "budget"
    assert error_document(error)["error_kind"] == "budget"


@pytest.mark.parametrize(("raised", "kind", "exit_code"), [
    (UsageError("bad flag"), "usage", 2),
    (FileNotFoundError(2, "No such file or directory", "/nowhere/x.png"), "usage", 2),
    (PermissionError(13, "Permission denied", "/root/x"), "runtime", 1),
    (KeyboardInterrupt(), "interrupted", 1),
    (RuntimeError("Could not determine home directory."), "usage", 2),
    (ZeroDivisionError("division by zero"), "internal", 1),
])
def test_any_exception_becomes_one_typed_error(raised, kind, exit_code):
    error = as_error(raised)
    assert (error.kind, error.exit_code) == (kind, exit_code)
    document = error_document(raised)
    assert document["success"] is False and document["error_kind"] == kind
    assert set(document) >= {"error", "error_kind", "retryable", "details", "contract_version"}


def test_every_error_class_names_a_listed_kind():
    import imagegen.errors as errors

    classes = [value for value in vars(errors).values()
               if isinstance(value, type) and issubclass(value, ImageGenError)]
    assert len(classes) > 5
    assert all(is_error_kind(cls.kind) for cls in classes), [cls.kind for cls in classes]


def test_an_unlisted_kind_is_shown_as_internal_with_its_exit_code_kept():
    raised = UsageError("a defect named a kind of its own", kind="made_up", details="fix the flag")
    error = as_error(raised)
    assert (error.kind, error.exit_code, error.message) == ("internal", 2, raised.message)
    assert "made_up" in (error.details or "") and "fix the flag" in (error.details or "")
    assert error_document(raised)["error_kind"] == "internal"
    assert as_error(UsageError("listed")).kind == "usage"



def test_an_unlisted_kind_keeps_what_its_error_adds_to_the_document():
    """A paid call's error with a kind of its own still says its charge is unknown, and what the provider said."""
    from imagegen.errors import ProviderError

    raised = ProviderError("HTTP 502 after sending", kind="made_up", status=502, charge_unknown=True,
                           provider_message="upstream went away", extra={"generation_id": "gen-1"})
    document = error_document(raised)
    assert document["error_kind"] == "internal" and "made_up" in document["details"]
    assert document["charge_unknown"] is True and document["http_status"] == 502
    assert document["provider_message"] == "upstream went away" and document["generation_id"] == "gen-1"
