"""API shapes of the routing domain (also used by the appeals API for its ``suggestions``)."""

from __future__ import annotations

from typing import Any

from ninja import Field, Schema


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
    threshold: float = Field(
        ..., description="Suggestions whose top probability is below this are not confident"
    )
    confident: dict[str, bool] = Field(
        ...,
        description=(
            "Per target (category, unit): whether the top suggestion reaches the threshold. "
            "False: show no confident suggestion (暂无把握的建议); the list may still hold "
            "unsure candidates."
        ),
    )


def is_confident(found: list[tuple[Any, ...]], threshold: float) -> bool:
    """Whether the first (best) suggestion of a list reaches the threshold."""
    return bool(found) and float(found[0][-1]) >= threshold


def suggestions_out(
    found: dict[str, list[tuple[Any, ...]]],
    versions: dict[str, str | None],
    codes: dict[str, str],
    threshold: float = 0.5,
) -> dict[str, Any]:
    return {
        "threshold": threshold,
        "confident": {
            "category": is_confident(found["categories"], threshold),
            "unit": is_confident(found["units"], threshold),
        },
        "categories": [
            {"name": name, "code": codes.get(name), "probability": p}
            for name, p in found["categories"]
        ],
        "units": [
            {"code": code, "name": name, "probability": p} for code, name, p in found["units"]
        ],
        "models": versions,
    }
