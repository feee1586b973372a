"""Routing endpoints: suggestions, similar appeals, hot issues and how often suggestions were
overridden. Thin: parse, call one service or selector, render."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema

from kuaiban.api.schemas import ErrorOut, InputSchema, QuerySchema
from kuaiban.appeals import policy
from kuaiban.appeals.models import Action
from kuaiban.appeals.selectors import appeal_get
from kuaiban.core.errors import PermissionDenied, ValidationFailed
from kuaiban.org.models import Region, User
from kuaiban.routing import selectors, services
from kuaiban.routing.schemas import SuggestionsOut, suggestions_out

router = Router(tags=["routing"])
log = logging.getLogger(__name__)


ERRORS = {400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut}


def _user(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)
    return user


def suggestions_payload(
    text: str, *, category: str | None = None, region_id: int | None = None
) -> dict[str, Any]:
    """Suggestions with the confidence verdict; an empty (or blank) text gets none."""
    found: dict[str, list[tuple[Any, ...]]] = {"categories": [], "units": []}
    if text.strip():
        found = services.suggest(text, category=category, region_id=region_id)
    return suggestions_out(
        found,
        services.active_versions(),
        selectors.category_codes(),
        selectors.current_settings().suggest_threshold,
    )


def appeal_suggestions(title: str | None, content: str | None) -> dict[str, Any] | None:
    """For the create answer of ``POST /api/v1/appeals``: never fails the registration."""
    try:
        return suggestions_payload("\n".join(p for p in (title, content) if p))
    except Exception:
        log.exception("routing: no suggestions for a new appeal")
        return None


def _may_suggest(user: User) -> None:
    if not (policy.may(user, Action.REGISTER) or policy.may(user, Action.DISPATCH)):
        raise PermissionDenied(_("Only the registration desk asks for suggestions."))


class TextIn(InputSchema):
    text: str = Field(
        ..., description="Title and content of the appeal, as typed (blank: no suggestion)"
    )
    category: str | None = Field(
        None, description="Category code chosen so far (the lead-unit model reads it)"
    )
    region: str | None = Field(None, description="Region code of the appeal")


@router.post(
    "/suggest",
    response={200: SuggestionsOut, **ERRORS},
    summary="Suggested categories and lead units for a text",
    description=(
        "The top three first-level categories and lead units with their probabilities, from "
        "the active models (an empty list for a target without an active model)."
    ),
)
def suggest(request: HttpRequest, payload: TextIn) -> dict[str, Any]:
    _may_suggest(_user(request))
    if payload.text.strip():
        services.clean_text(payload.text)  # the length limit
    return suggestions_payload(
        payload.text,
        category=selectors.top_category_of(payload.category),
        region_id=_region_id(payload.region),
    )


def _region_id(code: str | None) -> int | None:
    if not code:
        return None
    found = Region.objects.filter(code=code).values_list("pk", flat=True).first()
    if found is None:
        raise ValidationFailed.one("region", _("Unknown region %(code)r.") % {"code": code})
    return found


class SimilarOut(Schema):
    number: str
    title: str
    status: str
    region: str | None
    lead_unit: str | None
    received_at: dt.datetime
    score: float
    same_region: bool


class SimilarIn(InputSchema):
    text: str
    region: str | None = Field(None, description="Region code of the new appeal")


def _similar_out(found: list[selectors.SimilarAppeal]) -> list[dict[str, Any]]:
    return [
        {
            "number": s.appeal.number,
            "title": s.appeal.title or s.appeal.content[:40],
            "status": s.appeal.status,
            "region": s.appeal.region.code if s.appeal.region else None,
            "lead_unit": s.appeal.lead_unit.code if s.appeal.lead_unit else None,
            "received_at": s.appeal.received_at,
            "score": round(s.score, 4),
            "same_region": s.same_region,
        }
        for s in found
    ]


@router.post(
    "/similar",
    response={200: list[SimilarOut], **ERRORS},
    summary="Appeals of the last 90 days similar to a text (same region first)",
)
def similar(request: HttpRequest, payload: SimilarIn) -> list[dict[str, Any]]:
    user = _user(request)
    text = services.clean_text(payload.text)
    region_id = _region_id(payload.region)
    return _similar_out(selectors.similar_appeals(user=user, text=text, region_id=region_id))


@router.get(
    "/appeals/{number}/similar",
    response={200: list[SimilarOut], **ERRORS},
    summary="Appeals of the last 90 days similar to this one (same region first)",
)
def similar_to(request: HttpRequest, number: str) -> list[dict[str, Any]]:
    user = _user(request)
    appeal = appeal_get(user=user, number=number)
    return _similar_out(selectors.similar_to_appeal(user=user, appeal=appeal))


class PeriodParams(QuerySchema):
    from_: dt.date | None = Field(None, alias="from", description="First day (default: 6 days ago)")
    to: dt.date | None = Field(None, description="Last day, inclusive (default: today)")


class ShareOut(Schema):
    code: str
    name: str
    count: int


class IssueAppealOut(Schema):
    number: str
    title: str
    status: str
    received_at: dt.datetime


class IssueOut(Schema):
    label: str
    terms: list[str]
    size: int
    previous_size: int | None
    growth: float | None
    new: bool
    cohesion: float
    regions: list[ShareOut]
    units: list[ShareOut]
    appeals: list[IssueAppealOut]


class PeriodOut(Schema):
    from_: dt.date = Field(..., alias="from")
    to: dt.date
    appeals: int


class HotOut(Schema):
    period: PeriodOut
    previous: PeriodOut
    issues: list[IssueOut]


@router.get(
    "/hot-issues",
    response={200: HotOut, **ERRORS},
    by_alias=True,
    summary="Hot issues of a period, with growth against the period before",
    description=(
        "Staff only: handlers are refused (403). Each issue groups the period's appeals about "
        "one problem, labelled by its key words, with its regions, units and appeals."
    ),
)
def hot_issues(request: HttpRequest, params: Query[PeriodParams]) -> dict[str, Any]:
    user = _user(request)
    selectors.hot_scope(user)
    period = selectors.period_from(params.from_, params.to)
    report = selectors.hot_issues(user=user, period=period)
    return {
        "period": {"from": period.start, "to": period.end, "appeals": report.n_appeals},
        "previous": {
            "from": report.previous.start,
            "to": report.previous.end,
            "appeals": report.n_previous,
        },
        "issues": [
            {
                "label": i.label,
                "terms": list(i.terms),
                "size": i.size,
                "previous_size": i.previous_size,
                "growth": i.growth,
                "new": i.is_new,
                "cohesion": i.cohesion,
                "regions": [vars(s) for s in i.regions],
                "units": [vars(s) for s in i.units],
                "appeals": [
                    {
                        "number": a.number,
                        "title": a.title or a.content[:40],
                        "status": a.status,
                        "received_at": a.received_at,
                    }
                    for a in i.appeals
                ],
            }
            for i in report.issues
        ],
    }


class OverrideRowOut(Schema):
    code: str
    name: str
    suggested: int
    dispatched: int
    followed: int
    overridden: int
    override_rate: float | None
    auto: int


class OverridesOut(Schema):
    from_: dt.date = Field(..., alias="from")
    to: dt.date
    totals: OverrideRowOut
    units: list[OverrideRowOut]


def _row(r: selectors.OverrideRow) -> dict[str, Any]:
    return {**vars(r), "override_rate": r.override_rate}


@router.get(
    "/routing/overrides",
    response={200: OverridesOut, **ERRORS},
    by_alias=True,
    summary="How often operators overrode the suggested lead unit, per unit",
    description=(
        "Per suggested unit: suggestions recorded at registration, dispatches by people, how "
        "many followed the suggestion or chose another unit, and automatic dispatches."
    ),
)
def overrides(request: HttpRequest, params: Query[PeriodParams]) -> dict[str, Any]:
    period = selectors.period_from(params.from_, params.to, default_days=30)
    report = selectors.override_counts(user=_user(request), period=period)
    return {
        "from": period.start,
        "to": period.end,
        "totals": _row(report.totals),
        "units": [_row(u) for u in report.units],
    }


class AccuracyWeekOut(Schema):
    week: dt.date = Field(..., description="Monday of the week the suggestions were recorded")
    suggested: int
    finished: int = Field(..., description="Of those, appeals replied to (final lead unit)")
    top1: int
    top3: int
    accuracy: float | None = Field(..., description="top1 / finished")
    accuracy_at_3: float | None = Field(..., description="top3 / finished")


class SuggestionAccuracyOut(Schema):
    from_: dt.date = Field(..., alias="from")
    to: dt.date
    totals: AccuracyWeekOut
    weeks: list[AccuracyWeekOut]


def _week(w: selectors.AccuracyWeek) -> dict[str, Any]:
    return {**vars(w), "accuracy": w.accuracy, "accuracy_at_3": w.accuracy_at_3}


@router.get(
    "/routing/accuracy",
    response={200: SuggestionAccuracyOut, **ERRORS},
    by_alias=True,
    summary="Weekly accuracy of the suggested lead unit against the unit that finally handled it",
    description=(
        "Per week of the suggestions recorded in the period (default: the last 12 weeks): how "
        "many appeals are replied to, how often the top suggestion (and the top three) named "
        "the unit that kept the appeal. A unit that returned the appeal does not count."
    ),
)
def accuracy(request: HttpRequest, params: Query[PeriodParams]) -> dict[str, Any]:
    period = selectors.period_from(params.from_, params.to, default_days=84)
    report = selectors.suggestion_accuracy(user=_user(request), period=period)
    return {
        "from": period.start,
        "to": period.end,
        "totals": _week(report.totals),
        "weeks": [_week(w) for w in report.weeks],
    }
