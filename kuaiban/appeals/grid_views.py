"""The grid worker's phone pages (网格员): the grid's open appeals and the report from the field.

On an appeal of its grid the worker uses the appeal page (/appeals/<number>/), which offers it
就地解决 (resolved on the spot) and 吹哨 (whistle departments in). Every page here is for grid
workers only (403 to anyone else) and fits a 390 px screen.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from kuaiban.appeals import forms as f
from kuaiban.appeals import selectors, services
from kuaiban.core.errors import DomainError
from kuaiban.org.models import Role, Unit, User


def _grid_worker(request: HttpRequest) -> User:
    user = request.user
    if not (
        isinstance(user, User)
        and user.role == Role.GRID_WORKER
        and user.unit is not None
        and user.unit.kind == Unit.Kind.GRID
    ):
        raise DjangoPermissionDenied
    return user


@login_required
def grid_list(request: HttpRequest) -> HttpResponse:
    user = _grid_worker(request)
    return render(
        request,
        "appeals/grid/list.html",
        {"grid": user.unit, "boxes": selectors.grid_open(user=user)},
    )


@login_required
def grid_report(request: HttpRequest) -> HttpResponse:
    user = _grid_worker(request)
    form = f.GridReportForm(request.POST or None, request.FILES or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                appeal = services.appeal_grid_report(
                    actor=user, data=form.appeal_input(f.step_files(form.cleaned_data))
                )
            except DomainError as exc:
                f.attach_errors(form, exc)
                status = exc.status
            else:
                messages.success(request, _("Reported as %(number)s.") % {"number": appeal.number})
                return redirect("appeals:detail", number=appeal.number)
        else:
            status = 400
    return render(
        request, "appeals/grid/report.html", {"form": form, "grid": user.unit}, status=status
    )
