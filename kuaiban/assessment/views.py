"""The double ranking's pages and workbooks (督查考核办): thin over the assessment services."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from kuaiban.assessment import excel, services
from kuaiban.core.errors import DomainError, PermissionDenied
from kuaiban.metrics.excel import response as xlsx_response
from kuaiban.org.models import User


def _user(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


def _cadre_team(request: HttpRequest) -> str | None:
    try:
        return services.cadre_scope(_user(request), request.GET.get("team") or None)
    except PermissionDenied:
        raise DjangoPermissionDenied from None


def _key_work_reader(request: HttpRequest) -> None:
    try:
        services.ensure_key_work_reader(_user(request))
    except PermissionDenied:
        raise DjangoPermissionDenied from None


def _presets() -> list[tuple[str, str]]:
    """Links to this month, the previous month, this quarter and this year."""
    day = services.today()
    previous = day.replace(day=1) - dt.timedelta(days=1)
    quarter = f"{day.year}-Q{(day.month - 1) // 3 + 1}"
    return [
        (f"{day:%Y-%m}", f"{day:%Y-%m}"),
        (f"{previous:%Y-%m}", f"{previous:%Y-%m}"),
        (quarter, quarter),
        (str(day.year), str(day.year)),
    ]


def _page(
    request: HttpRequest,
    template: str,
    build: Callable[[str | None], dict[str, Any]],
    **context: object,
) -> HttpResponse:
    """Render the ranking of the typed period; a bad period stays in the field with the
    message beside it (400), above this month's ranking."""
    period = request.GET.get("period", "")
    error = ""
    try:
        data = build(period)
    except DomainError as exc:
        error = str(exc.message)
        data = build(None)
    return render(
        request,
        template,
        {"data": data, "period": period, "error": error, "presets": _presets(), **context},
        status=400 if error else 200,
    )


@login_required
def cadres(request: HttpRequest) -> HttpResponse:
    team = _cadre_team(request)
    try:
        if team is not None:
            services.check_team(team)
    except DomainError as exc:
        return _bad(exc)
    return _page(
        request,
        "assessment/cadres.html",
        lambda p: services.cadre_ranking(p, team=team),
        team=request.GET.get("team", ""),
        show_key_work=_user(request).role in services.READERS,
    )


@login_required
def key_work(request: HttpRequest) -> HttpResponse:
    _key_work_reader(request)
    return _page(request, "assessment/key_work.html", services.key_work_ranking)


def _bad(exc: DomainError) -> HttpResponse:
    return HttpResponse(str(exc.message), status=400, content_type="text/plain; charset=utf-8")


@login_required
def cadres_xlsx(request: HttpRequest) -> HttpResponse:
    team = _cadre_team(request)
    try:
        data = services.cadre_ranking(request.GET.get("period"), team=team)
    except DomainError as exc:
        return _bad(exc)
    return xlsx_response(excel.cadre_workbook(data), f"班子内部排名_{data['period']}.xlsx")


@login_required
def key_work_xlsx(request: HttpRequest) -> HttpResponse:
    _key_work_reader(request)
    try:
        data = services.key_work_ranking(request.GET.get("period"))
    except DomainError as exc:
        return _bad(exc)
    return xlsx_response(excel.key_work_workbook(data), f"重点工作排名_{data['period']}.xlsx")
