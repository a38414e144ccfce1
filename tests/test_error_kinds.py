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


def _kinds_in_code() -> dict[str, str]:
    """Each string literal the package uses as an error kind -> where it was first seen: class
    attributes ``kind = "..."``, keyword arguments ``kind="..."`` and ``provider_error("...")``."""
    found: dict[str, str] = {}
    for path in PACKAGE.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            literal = None
            if isinstance(node, ast.ClassDef):
                for statement in node.body:
                    if (isinstance(statement, ast.Assign) and len(statement.targets) == 1
                            and isinstance(statement.targets[0], ast.Name) and statement.targets[0].id == "kind"
                            and isinstance(statement.value, ast.Constant)):
                        found.setdefault(statement.value.value, f"{path.name}:{statement.lineno}")
            elif isinstance(node, ast.Call):
                for keyword in node.keywords:
                    if keyword.arg == "kind" and isinstance(keyword.value, ast.Constant):
                        literal = keyword.value
                func = node.func
                name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
                if name == "provider_error" and node.args and isinstance(node.args[0], ast.Constant):
                    literal = node.args[0]
            if literal is not None and isinstance(literal.value, str):
                found.setdefault(literal.value, f"{path.name}:{literal.lineno}")
    return found


def test_every_kind_the_code_raises_is_an_error_kind():
    members = {kind.value for kind in ErrorKind}
    stray = {kind: where for kind, where in _kinds_in_code().items() if kind not in members}
    assert not stray, f"error kinds missing from ErrorKind: {stray}"


def test_every_error_kind_is_documented_in_the_contract():
    text = (ROOT / "references" / "contract.md").read_text(encoding="utf-8")
    documented = set(re.findall(r"`([a-z_]+)`", text))
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

