"""``{% watch_list %}``: next month's forecast as a watch list, for the overview to include.

The overview (metrics) only loads this library in its template; metrics never imports the
foresight app, which sits above it.
"""

from __future__ import annotations

from typing import Any

from django import template
from django.core.cache import cache

from kuaiban.foresight import forecast
from kuaiban.metrics import services as metrics
from kuaiban.org.models import User

register = template.Library()
WATCH_CACHE_SECONDS = 600


@register.inclusion_tag("foresight/_watch_list.html", takes_context=True)
def watch_list(context: dict[str, Any]) -> dict[str, Any]:
    request = context.get("request")
    user = getattr(request, "user", None)
    if not isinstance(user, User) or user.role not in metrics.READERS:
        return {"shown": False}
    today = metrics.today()
    month = forecast.add_months(today.replace(day=1), 1)
    # The overview is opened often and next month's forecast moves slowly (its trend by the
    # day): kept for a few minutes rather than recounted on every page.
    key = f"foresight:watch:{month:%Y-%m}:{today.isoformat()}"
    rows = cache.get(key)
    if rows is None:
        rows = forecast.forecast(month, today=today).watch
        cache.set(key, rows, WATCH_CACHE_SECONDS)
    return {"shown": True, "month": month, "rows": rows}
