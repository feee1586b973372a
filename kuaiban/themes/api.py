"""Monthly themes under /api/v1/themes: create (supervisors), read (per role), review links,
progress reports (the lead unit), close. Thin: parse, call one service or selector, render."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest
from ninja import Field, Router, Schema, Status

from kuaiban.api.schemas import ERRORS, InputSchema, RefOut
from kuaiban.org.models import User
from kuaiban.themes import selectors, services
from kuaiban.themes.models import Theme, ThemeLink, ThemeReport

router = Router(tags=["themes"])


def _user(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)
    return user


class ThemeHotIssueIn(InputSchema):
    label: str = Field(..., description="The hot issue's label, as the hot-issue page shows it")
    date_from: dt.date | None = Field(None, description="Its period's first day")
    date_to: dt.date | None = Field(None, description="Its period's last day (default: today)")


class ThemeIn(InputSchema):
    title: str
    lead_unit: str = Field(..., description="Unit code")
    co_units: list[str] = Field(default_factory=list, description="Unit codes")
    target_pct: int = Field(..., description="Volume down by this many per cent (1–100)")
    months: int = Field(..., description="Within this many months (1–12)")
    hot_issue: ThemeHotIssueIn | str | None = Field(
        None, description="A hot issue (its label, or {label, date_from, date_to})"
    )
    query: str | None = Field(None, description="Or a search, as the ledger's")
    category: str | None = Field(None, description="Category code (default: derived)")
    region: str | None = Field(None, description="Township code (default: derived)")
    start: str | None = Field(None, description="First month, YYYY-MM (default: this month)")


class ThemeMonthOut(Schema):
    month: str
    volume: int | None
    phase: str


class ThemeReportOut(Schema):
    on: dt.date
    text: str


class ThemeOut(Schema):
    id: int
    title: str
    status: str
    result: str
    lead_unit: RefOut
    co_units: list[RefOut]
    source: str
    hot_issue: str | None
    query: str | None
    category: RefOut | None
    region: RefOut | None
    start: str
    end: str
    months: int
    target_pct: int
    baseline: float
    target: float
    linked_appeals: int
    monthly: list[ThemeMonthOut]
    reports: list[ThemeReportOut]
    measure: str | None
    closed_at: dt.datetime | None


class ThemeLinkOut(Schema):
    number: str
    title: str
    received_at: dt.datetime
    source: str
    state: str
    score: float | None


class ThemeLinksOut(Schema):
    items: list[ThemeLinkOut]
    hidden: int = Field(..., description="Linked appeals you may not open")


class ThemeReviewIn(InputSchema):
    decision: str = Field(..., description="confirmed or rejected")


class ThemeReportIn(InputSchema):
    text: str
    on: dt.date | None = Field(None, description="Default: today")


class ThemeCloseIn(InputSchema):
    measure: str = Field(..., description="The root-cause measure taken")


def _ref(obj: Any) -> dict[str, str] | None:
    return {"code": obj.code, "name": obj.name} if obj is not None else None


def theme_out(theme: Theme) -> dict[str, Any]:
    fig = selectors.figures(theme)
    return {
        "id": theme.pk,
        "title": theme.title,
        "status": theme.status,
        "result": fig.result,
        "lead_unit": _ref(theme.lead_unit),
        "co_units": [_ref(u) for u in theme.co_units.order_by("code")],
        "source": theme.source,
        "hot_issue": theme.hot_label or None,
        "query": theme.query or None,
        "category": _ref(theme.category),
        "region": _ref(theme.region),
        "start": f"{theme.start:%Y-%m}",
        "end": f"{selectors.end_month(theme):%Y-%m}",
        "months": theme.months,
        "target_pct": theme.target_pct,
        "baseline": fig.baseline,
        "target": fig.target,
        "linked_appeals": fig.linked,
        "monthly": [{"month": m.label, "volume": m.volume, "phase": m.phase} for m in fig.months],
        "reports": [{"on": r.on, "text": r.text} for r in selectors.reports(theme)],
        "measure": theme.measure or None,
        "closed_at": theme.closed_at,
    }


def _input(payload: ThemeIn) -> services.ThemeInput:
    hot = payload.hot_issue
    ref = None
    if isinstance(hot, str):
        ref = services.HotIssueRef(label=hot)
    elif hot is not None:
        ref = services.HotIssueRef(label=hot.label, date_from=hot.date_from, date_to=hot.date_to)
    return services.ThemeInput(
        title=payload.title,
        lead_unit=payload.lead_unit,
        co_units=payload.co_units,
        target_pct=payload.target_pct,
        months=payload.months,
        hot_issue=ref,
        query=payload.query,
        category=payload.category,
        region=payload.region,
        start=payload.start,
    )


@router.post(
    "/themes",
    response={201: ThemeOut, **ERRORS},
    summary="Set a monthly theme (每月一题) from a hot issue or a search",
)
def create(request: HttpRequest, payload: ThemeIn) -> Status[dict[str, Any]]:
    theme = services.theme_create(actor=_user(request), data=_input(payload))
    return Status(201, theme_out(theme))


@router.get("/themes", response={200: list[ThemeOut], **ERRORS}, summary="The themes you may read")
def themes(request: HttpRequest) -> list[dict[str, Any]]:
    return [theme_out(t) for t in selectors.themes_for(_user(request))]


@router.get("/themes/{theme_id}", response={200: ThemeOut, **ERRORS}, summary="One theme")
def theme(request: HttpRequest, theme_id: int) -> dict[str, Any]:
    return theme_out(selectors.theme_get(user=_user(request), theme_id=theme_id))


def _link_out(link: ThemeLink) -> dict[str, Any]:
    a = link.appeal
    return {
        "number": a.number,
        "title": a.title or a.content[:40],
        "received_at": a.received_at,
        "source": link.source,
        "state": link.state,
        "score": link.score,
    }


@router.get(
    "/themes/{theme_id}/links",
    response={200: ThemeLinksOut, **ERRORS},
    summary="The theme's linked appeals that you may open",
)
def links(request: HttpRequest, theme_id: int) -> dict[str, Any]:
    user = _user(request)
    found = selectors.theme_get(user=user, theme_id=theme_id)
    shown, hidden = selectors.links_for(user=user, theme=found)
    return {"items": [_link_out(link) for link in shown], "hidden": hidden}


@router.post(
    "/themes/{theme_id}/links/{number}",
    response={200: ThemeLinkOut, **ERRORS},
    summary="Confirm or reject one link (rejected links do not count)",
)
def review(
    request: HttpRequest, theme_id: int, number: str, payload: ThemeReviewIn
) -> dict[str, Any]:
    link = services.link_review(
        actor=_user(request), theme_id=theme_id, number=number, decision=payload.decision
    )
    return _link_out(link)


@router.post(
    "/themes/{theme_id}/reports",
    response={201: ThemeReportOut, **ERRORS},
    summary="A progress report of the lead unit",
)
def report(request: HttpRequest, theme_id: int, payload: ThemeReportIn) -> Status[dict[str, Any]]:
    row: ThemeReport = services.report_add(
        actor=_user(request), theme_id=theme_id, text=payload.text, on=payload.on
    )
    return Status(201, {"on": row.on, "text": row.text})


@router.post(
    "/themes/{theme_id}/close",
    response={200: ThemeOut, **ERRORS},
    summary="Close the theme with its root-cause measure",
)
def close(request: HttpRequest, theme_id: int, payload: ThemeCloseIn) -> dict[str, Any]:
    return theme_out(
        services.theme_close(actor=_user(request), theme_id=theme_id, measure=payload.measure)
    )
