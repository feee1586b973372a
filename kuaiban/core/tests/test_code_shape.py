"""Functions stay short enough to read: none over 80 lines without saying why.

The scan walks every module under ``kuaiban/`` (tests and migrations aside) and measures each
function's body, docstring included, from its first statement to its last line. A function longer
than ``LIMIT`` passes only when its docstring has a line starting ``Long because:`` that gives
the reason (a flat table of checks read better in one place, say). Nested functions count on
their own and inside their parent.
"""

from __future__ import annotations

import ast
from pathlib import Path

import kuaiban

ROOT = Path(kuaiban.__file__).parent
LIMIT = 80
REASON = "Long because:"


def long_functions(source: str) -> list[tuple[int, str, int]]:
    """(line, name, length) of each function whose body is over LIMIT lines and gives no reason."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        length = (node.body[-1].end_lineno or node.body[-1].lineno) - node.body[0].lineno + 1
        if length <= LIMIT:
            continue
        docstring = ast.get_docstring(node) or ""
        if any(line.strip().startswith(REASON) for line in docstring.splitlines()):
            continue
        found.append((node.lineno, node.name, length))
    return found


def test_the_scan_sees_a_long_function_and_honours_a_reason() -> None:
    body = "".join(f"    x{i} = {i}\n" for i in range(LIMIT))
    short = f"def short():\n{body}"
    long = f"def long():\n    x = 0\n{body}"
    reasoned = f'def reasoned():\n    """One table.\n\n    Long because: a table.\n    """\n{body}'
    hidden = f'def hidden():\n    """Not long because: no.\n    """\n{body}'
    assert long_functions(short) == []
    assert long_functions(long) == [(1, "long", LIMIT + 1)]
    assert long_functions(reasoned) == []
    assert long_functions(hidden) == [(1, "hidden", LIMIT + 2)]


def test_no_function_is_long_without_a_reason() -> None:
    offenders = []
    for path in sorted(ROOT.rglob("*.py")):
        relative = path.relative_to(ROOT)
        if {"tests", "migrations"} & set(relative.parts):
            continue
        for line, name, length in long_functions(path.read_text()):
            offenders.append(f"{relative}:{line} {name} is {length} lines")
    assert offenders == [], f"over {LIMIT} lines, no '{REASON}' in the docstring"
