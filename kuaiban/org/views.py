"""The signed-in user's own API tokens (see them by prefix, revoke them), and the lockout page."""

from __future__ import annotations

import math

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from kuaiban.core import clock
from kuaiban.core.errors import NotFound
from kuaiban.org import selectors, services
from kuaiban.org.models import User


@login_required
def tokens(request: HttpRequest) -> HttpResponse:
    user = request.user
    assert isinstance(user, User)
    return render(
        request, "org/tokens.html", {"tokens": selectors.tokens_of(user), "now": clock.now()}
    )


@login_required
@require_POST
def token_revoke(request: HttpRequest, token_id: int) -> HttpResponse:
    user = request.user
    assert isinstance(user, User)
    try:
        token = services.token_revoke(actor=user, token_id=token_id)
    except NotFound as exc:
        raise Http404(str(exc.message)) from None
    messages.success(
        request, _("Token %(prefix)s… revoked: it no longer works.") % {"prefix": token.prefix}
    )
    return redirect("org:tokens")


def lockout(
    request: HttpRequest, original_response: HttpResponse | None = None, credentials: object = None
) -> HttpResponse:
    """django-axes' answer to a locked-out login (AXES_LOCKOUT_CALLABLE): 429, in the layout."""
    cool_off = settings.AXES_COOLOFF_TIME
    minutes = math.ceil(cool_off.total_seconds() / 60) if cool_off else 0
    return render(
        request,
        "org/lockout.html",
        {"failure_limit": settings.AXES_FAILURE_LIMIT, "cooloff_minutes": minutes},
        status=429,
    )
