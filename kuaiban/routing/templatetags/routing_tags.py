"""``{% routing_intake %}``: the suggestion and similar-appeal panel of the intake form."""

from __future__ import annotations

from typing import Any

from django import template

from kuaiban.org.models import Unit

register = template.Library()


@register.inclusion_tag("routing/_intake.html", takes_context=True)
def routing_intake(context: Any) -> dict[str, Any]:
    request = context.get("request")
    chosen = request.POST.get("routing_dispatch", "") if request is not None else ""
    return {
        "units": list(Unit.objects.filter(active=True).values_list("code", "name")),
        "chosen": chosen,
        "request": request,
    }


@register.filter
def prob(value: float | None) -> str:
    """A model's probability: 0.8234 → 82%, never a bare 0% or 100% (<1%, >99%)."""
    if value is None:
        return "—"
    if value < 0.005:
        return "<1%"
    if value >= 0.995:
        return ">99%"
    return f"{value * 100:.0f}%"


@register.filter
def percent(value: float | None) -> str:
    """A share: 0.5 → 50%."""
    if value is None:
        return "—"
    return f"{value * 100:.0f}%"
