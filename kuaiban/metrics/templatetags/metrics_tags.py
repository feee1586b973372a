from __future__ import annotations

from django import template

register = template.Library()


@register.filter
def pct(value: float | None) -> str:
    """A rate (fraction 0–1) as a percentage with one decimal; a dash when it has no value."""
    if value is None or value == "":
        return "—"
    return f"{float(value) * 100:.1f}%"
