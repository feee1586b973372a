"""Views of the plumbing itself: the health endpoint for load balancers and monitors, the icon."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponseRedirect, JsonResponse
from django.templatetags.static import static
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from kuaiban.core.health import health_report


@require_safe
@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    """200 when the database answers and no known worker's heartbeat is stale, else 503.
    No authentication, no personal data."""
    report = health_report()
    return JsonResponse(report.as_dict(), status=200 if report.ok else 503)


@require_safe
def favicon(request: HttpRequest) -> HttpResponseRedirect:
    """Browsers ask for /favicon.ico whatever the page says; send them to the static icon."""
    return HttpResponseRedirect(static("kuaiban/favicon.svg"))
