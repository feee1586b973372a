"""Shared pieces of the enterprise API: the router, schemas and renderers."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any, Literal

from django.http import HttpRequest
from ninja import Field, Router, Schema

from kuaiban.api.schemas import InputSchema, QuerySchema, RefOut
from kuaiban.appeals.models import Appeal
from kuaiban.enterprise import selectors
from kuaiban.enterprise.models import (
    Enterprise,
)
from kuaiban.org.models import User

router = Router(tags=["enterprise"])

SizeT = Literal["above", "below", "construction", "planned"]
MeetingKindT = Literal["breakfast", "bank", "reception"]
ProblemKindT = Literal["help", "complaint", "consultation", "suggestion"]
BaobaoRoleT = Literal["leader", "approval", "responsible", "service"]


def user_of(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)
    return user


# ----- schemas -----------------------------------------------------------------------------------


class ProblemIn(InputSchema):
    content: str
    title: str | None = None
    kind: ProblemKindT = "help"
    category: str | None = Field(None, description="Category code")
    unit: str | None = Field(None, description="Dispatch at once to this lead unit (dispatchers)")


class EnterprisePeriodParams(QuerySchema):
    from_: dt.date | None = Field(None, alias="from")
    to: dt.date | None = None


class IndustryOut(Schema):
    code: str
    name: str


class ContactOut(Schema):
    name: str
    position: str
    phone: str


class OfficialOut(Schema):
    assignment: int
    username: str
    name: str
    duty: str
    role: str = Field(..., description="四包 role, empty for a plain 包保")
    unit: RefOut | None


class EnterpriseIn(InputSchema):
    credit_code: str
    name: str
    industry: str = Field(..., description="Section letter A–T of GB/T 4754-2017, or its name")
    size: str = Field(..., description="above / below / construction / planned (or 规上 …)")
    township: str | None = Field(None, description="Township region code or name")
    address: str | None = None
    contact_name: str | None = None
    contact_phone: str | None = None


class EnterpriseOut(Schema):
    credit_code: str
    name: str
    industry: IndustryOut
    size: str
    township: RefOut | None
    address: str
    contacts: list[ContactOut]
    officials: list[OfficialOut]


class EnterpriseAppealOut(Schema):
    number: str
    title: str
    status: str
    channel: str
    lead_unit: RefOut | None
    received_at: dt.datetime
    topic: str | None


class EnterpriseDetailOut(EnterpriseOut):
    appeals: list[EnterpriseAppealOut]


class EnterprisePage(Schema):
    items: list[EnterpriseOut]
    total: int


def ref(obj: Any) -> RefOut | None:
    return RefOut(code=obj.code, name=obj.name) if obj is not None else None


def enterprise_out(e: Enterprise, full_phones: set[int] | None = None) -> dict[str, Any]:
    """``full_phones``: as selectors.full_contact_enterprises (None: every phone in full)."""
    return {
        "credit_code": e.credit_code,
        "name": e.name,
        "industry": {"code": e.industry.code, "name": e.industry.name},
        "size": e.size,
        "township": ref(e.township),
        "address": e.address,
        "contacts": [
            {
                "name": c.name,
                "position": c.position,
                "phone": selectors.contact_phone(c.phone, e.pk, full_phones),
            }
            for c in e.contacts.all()
        ],
        "officials": [
            {
                "assignment": a.pk,
                "username": a.official.username,
                "name": a.official.label,
                "duty": a.duty,
                "role": a.role,
                "unit": ref(a.unit),
            }
            for a in e.assignments.all()
            if a.ended_at is None
        ],
    }


def appeal_line(a: Appeal) -> dict[str, Any]:
    link = getattr(a, "enterprise_link", None)
    return {
        "number": a.number,
        "title": a.title or a.content[:40],
        "status": a.status,
        "channel": a.channel,
        "lead_unit": ref(a.lead_unit),
        "received_at": a.received_at,
        "topic": link.topic if link is not None else None,
    }


def count_of(obj: object, annotated: str, fallback: Callable[[], int]) -> int:
    value = getattr(obj, annotated, None)
    return int(value) if value is not None else fallback()


def with_related(qs: Any) -> Any:
    return qs.prefetch_related("contacts", "assignments__official", "assignments__unit")
