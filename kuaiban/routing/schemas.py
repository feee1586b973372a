"""API shapes of the routing domain (also used by the appeals API for its ``suggestions``)."""

from __future__ import annotations

from typing import Any

from ninja import Schema


class CategorySuggestion(Schema):
    name: str
    code: str | None
    probability: float


class UnitSuggestion(Schema):
    code: str
    name: str
    probability: float


class SuggestionsOut(Schema):
    categories: list[CategorySuggestion]
    units: list[UnitSuggestion]
    models: dict[str, str | None]


def suggestions_out(
    found: dict[str, list[tuple[Any, ...]]], versions: dict[str, str | None], codes: dict[str, str]
) -> dict[str, Any]:
    return {
        "categories": [
            {"name": name, "code": codes.get(name), "probability": p}
            for name, p in found["categories"]
        ],
        "units": [
            {"code": code, "name": name, "probability": p} for code, name, p in found["units"]
        ],
        "models": versions,
    }
