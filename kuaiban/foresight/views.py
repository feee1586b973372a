"""The spike alert's page: what the notices link to. Thin: the reads live in :mod:`.spikes`."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from kuaiban.core.errors import NotFound
from kuaiban.foresight import spikes
from kuaiban.org.models import User


@login_required
def spike_page(request: HttpRequest, pk: int) -> HttpResponse:
    assert isinstance(request.user, User)
    try:
        view = spikes.spike_get(user=request.user, pk=pk)
    except NotFound:
        raise Http404 from None
    return render(request, "foresight/spike.html", {"v": view, "s": view.spike})
