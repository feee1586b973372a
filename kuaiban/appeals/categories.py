"""The default category tree (three levels), shipped with the package."""

from __future__ import annotations

import csv
from importlib import resources
from typing import Any

TAXONOMY = "category_taxonomy.csv"


def default_rows() -> list[tuple[str, str, str]]:
    with resources.files("kuaiban.appeals").joinpath("data", TAXONOMY).open(encoding="utf-8") as fh:
        return [(r["level1"], r["level2"], r["level3"]) for r in csv.DictReader(fh)]


def load_default_tree(category_model: Any) -> int:
    """Create the default tree (idempotent); returns how many categories were created.

    Codes are positional: ``C01``, ``C01.02``, ``C01.02.03``, in the order of the shipped file.
    """
    created = 0
    index: dict[tuple[str, ...], Any] = {}
    counters: dict[tuple[str, ...], int] = {}
    for path in default_rows():
        parent = None
        for depth in range(1, 4):
            key = path[:depth]
            if key not in index:
                parent_key = path[: depth - 1]
                counters[parent_key] = counters.get(parent_key, 0) + 1
                prefix = index[parent_key].code + "." if depth > 1 else "C"
                code = f"{prefix}{counters[parent_key]:02d}"
                obj, was_created = category_model.objects.get_or_create(
                    code=code, defaults={"name": key[-1], "parent": parent, "level": depth}
                )
                created += int(was_created)
                index[key] = obj
            parent = index[key]
    return created
