"""The layers hold without tricks: no app imports another inside a function.

`make lint` checks the import contracts (pyproject.toml, import-linter), but import-linter sees a
function-level import like any other; this test refuses the usual way of hiding a cycle from a
reader, an import of another app moved into a function body. Django's own place for late wiring,
an app config's ``ready()`` (apps.py), is allowed, as are tests and migrations.
"""

from __future__ import annotations

import ast
from pathlib import Path

import kuaiban

ROOT = Path(kuaiban.__file__).parent


def late_imports_of_other_apps(source: str, app: str) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        for inner in ast.walk(node):
            if isinstance(inner, ast.ImportFrom) and inner.module:
                modules = [inner.module]
            elif isinstance(inner, ast.Import):
                modules = [alias.name for alias in inner.names]
            else:
                continue
            for module in modules:
                parts = module.split(".")
                if parts[0] == "kuaiban" and len(parts) > 1 and parts[1] != app:
                    found.append((inner.lineno, module))
    return found


def test_the_check_sees_a_late_import() -> None:
    source = "def f():\n    from kuaiban.routing.api import x\n    from kuaiban.core import y\n"
    assert late_imports_of_other_apps(source, "core") == [(2, "kuaiban.routing.api")]


def test_no_app_imports_another_inside_a_function() -> None:
    offenders = []
    for path in sorted(ROOT.rglob("*.py")):
        relative = path.relative_to(ROOT)
        if len(relative.parts) < 2 or {"tests", "migrations"} & set(relative.parts):
            continue
        if relative.name == "apps.py":
            continue
        for line, module in late_imports_of_other_apps(path.read_text(), relative.parts[0]):
            offenders.append(f"{relative}:{line} imports {module}")
    assert offenders == []
