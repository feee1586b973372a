"""``{% watch_list %}``: next month's forecast as a watch list, for the overview to include.

The overview (metrics) only loads this library in its template; metrics never imports the
foresight app, which sits above it.
"""

from __future__ import annotations

from typing import Any

from django import template

from kuaiban.foresight import forecast
from kuaiban.metrics import services as metrics
from kuaiban.org.models import User

register = template.Library()


@register.inclusion_tag("foresight/_watch_list.html", takes_context=True)
def watch_list(context: dict[str, Any]) -> dict[str, Any]:
    request = context.get("request")
    user = getattr(request, "user", None)
    if not isinstance(user, User) or user.role not in metrics.READERS:
        return {"shown": False}
    today = metrics.today()
    result = forecast.forecast(forecast.add_months(today.replace(day=1), 1), today=today)
    return {"shown": True, "f": result, "rows": result.watch}
