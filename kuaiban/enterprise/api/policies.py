"""Enterprise API: the policy library, one-to-many answers and the figures."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Query, Schema, Status

from kuaiban.api.schemas import ERRORS, InputSchema, RefOut
from kuaiban.appeals import selectors as appeal_selectors
from kuaiban.core.errors import PermissionDenied, ValidationFailed
from kuaiban.enterprise import industries, rules, selectors, services
from kuaiban.enterprise.api.common import (
    EnterprisePeriodParams,
    IndustryOut,
    count_of,
    ref,
    router,
    user_of,
)
from kuaiban.enterprise.api.meetings import MeetingFiguresOut
from kuaiban.enterprise.models import (
    Answer,
    Industry,
    Policy,
)

# ----- policies and answers -----------------------------------------------------------------


class PolicyIn(InputSchema):
    title: str
    text: str
    issuing_unit: str = Field(..., description="Unit code")
    industries: list[str] = Field(default_factory=list, description="Section letters; none: all")
    valid_from: dt.date
    valid_to: dt.date | None = None
    document_number: str = ""


class PolicyOut(Schema):
    id: int
    title: str
    document_number: str
    text: str
    issuing_unit: RefOut
    industries: list[str]
    valid_from: dt.date
    valid_to: dt.date | None


def policy_out(p: Policy) -> dict[str, Any]:
    return {
        "id": p.pk,
        "title": p.title,
        "document_number": p.document_number,
        "text": p.text,
        "issuing_unit": ref(p.issuing_unit),
        "industries": sorted(i.code for i in p.industries.all()),
        "valid_from": p.valid_from,
        "valid_to": p.valid_to,
    }


@router.get(
    "/policies",
    auth=None,
    response={200: list[PolicyOut], **ERRORS},
    summary="Policies in force (public); filter by industry or an enterprise's credit code",
)
def list_policies(
    request: HttpRequest, industry: str | None = None, credit_code: str | None = None
) -> list[dict[str, Any]]:
    target: Industry | None = None
    if credit_code:
        target = services.enterprise_for_code(credit_code).industry
    elif industry:
        target = industries.row(industry)
        if target is None:
            raise ValidationFailed.one(
                "industry", _("Unknown industry %(value)r.") % {"value": industry}
            )
    return [policy_out(p) for p in selectors.policies_for(target)]


@router.post("/policies", response={201: PolicyOut, **ERRORS})
def create_policy(request: HttpRequest, payload: PolicyIn) -> Status[dict[str, Any]]:
    item = services.policy_publish(
        actor=user_of(request), data=services.PolicyInput(**payload.dict())
    )
    return Status(201, policy_out(item))


class PromoteIn(InputSchema):
    number: str = Field(..., description="Tracking number of the replied enterprise appeal")
    industry: str | None = Field(None, description="Default: the enterprise's industry")
    title: str | None = None
    text: str | None = Field(None, description="Default: the unit's reply")


class AnswerOut(Schema):
    id: int
    title: str
    question: str
    text: str
    industry: IndustryOut
    topic: str
    source_appeal: str
    published_at: dt.datetime
    told: int


class ToldOut(Schema):
    enterprise: str
    enterprise_name: str
    told_at: dt.datetime
    read_at: dt.datetime | None


class AnswerDetailOut(AnswerOut):
    told_enterprises: list[ToldOut]


class MatchOut(Schema):
    answer: AnswerOut
    score: float


def answer_out(a: Answer) -> dict[str, Any]:
    return {
        "id": a.pk,
        "title": a.title,
        "question": a.question,
        "text": a.text,
        "industry": {"code": a.industry.code, "name": a.industry.name},
        "topic": a.topic,
        "source_appeal": a.source_appeal.number,
        "published_at": a.published_at,
        "told": count_of(a, "told", lambda: a.notices.count()),
    }


@router.get("/answers", response={200: list[AnswerOut], **ERRORS})
def list_answers(request: HttpRequest, industry: str | None = None) -> list[dict[str, Any]]:
    qs = selectors.answers()
    if industry:
        qs = qs.filter(industry_id=industry[:1].upper())
    return [answer_out(a) for a in qs[:500]]


@router.post(
    "/answers",
    response={201: AnswerDetailOut, **ERRORS},
    summary="Promote a reply to a published answer for an industry; its enterprises are told",
)
def promote(request: HttpRequest, payload: PromoteIn) -> Status[dict[str, Any]]:
    a = services.answer_promote(actor=user_of(request), **payload.dict())
    return Status(201, _answer_detail(selectors.answer_get(a.pk)))


def _answer_detail(a: Answer) -> dict[str, Any]:
    out = answer_out(a)
    out["told_enterprises"] = [
        {
            "enterprise": n.enterprise.credit_code,
            "enterprise_name": n.enterprise.name,
            "told_at": n.told_at,
            "read_at": n.read_at,
        }
        for n in a.notices.select_related("enterprise").order_by("enterprise__name")
    ]
    return out


@router.get(
    "/answers/match",
    response={200: list[MatchOut], **ERRORS},
    summary="Published answers similar to an appeal (for the operator)",
)
def match_answers(request: HttpRequest, number: str) -> list[dict[str, Any]]:
    appeal = appeal_selectors.appeal_get(user=user_of(request), number=number)
    return [
        {"answer": answer_out(a), "score": score} for a, score in selectors.matching_answers(appeal)
    ]


@router.get("/answers/{answer_id}", response={200: AnswerDetailOut, **ERRORS})
def get_answer(request: HttpRequest, answer_id: int) -> dict[str, Any]:
    return _answer_detail(selectors.answer_get(answer_id))


# ----- figures ---------------------------------------------------------------------------------


class TopicRow(Schema):
    topic: str
    label: str
    total: int
    open: int
    closed: int
    closed_pct: float


class IndustryRow(Schema):
    industry: str
    label: str
    total: int
    open: int
    closed: int
    closed_pct: float


class CoverageOut(Schema):
    enterprises: int
    assigned: int
    assigned_pct: float
    visited_this_quarter: int
    visited_pct: float
    quarter_from: dt.date
    visits_this_quarter: int


class EnterpriseFiguresOut(Schema):
    coverage: CoverageOut
    meetings: MeetingFiguresOut
    total: int
    closed: int
    closed_pct: float
    by_topic: list[TopicRow]
    by_industry: list[IndustryRow]


@router.get(
    "/enterprise-figures",
    response={200: EnterpriseFiguresOut, **ERRORS},
    summary="Coverage, meetings, and enterprise appeals by topic and by industry",
)
def enterprise_figures(
    request: HttpRequest,
    period: Query[EnterprisePeriodParams],
) -> dict[str, Any]:
    if not rules.has(user_of(request), rules.SEE_FIGURES):
        raise PermissionDenied(_("Your role may not see these figures."))
    figures = selectors.appeal_figures(date_from=period.from_, date_to=period.to)
    figures["coverage"] = selectors.coverage()
    figures["meetings"] = selectors.meeting_figures(date_from=period.from_, date_to=period.to)
    return figures
