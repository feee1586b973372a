"""Integration endpoints under /api/v1/: upper-level transfers (上级转办) in, escalations up.

Thin: authenticate, parse, call one service, render.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from django.http import HttpRequest
from ninja import Field, Router, Schema, Status

from kuaiban.api.schemas import ERRORS, InputSchema, appeal_input
from kuaiban.appeals.models import Appeal
from kuaiban.integrations import upstream
from kuaiban.integrations.models import UpstreamPlatform
from kuaiban.org.models import User

router = Router(tags=["integrations"])


class PlatformSignature:
    """Authenticates a push by the Standard Webhooks signature of the platform named in the
    path (before the body is parsed): 404 unknown platform, 403 disabled, 401 bad signature."""

    def __call__(self, request: HttpRequest) -> UpstreamPlatform:
        code = request.resolver_match.kwargs.get("platform", "") if request.resolver_match else ""
        return upstream.platform_authenticate(str(code), request.body, request.headers)


class UpstreamSubmitterIn(InputSchema):
    # Lengths and formats are the registration's checks (400 naming submitter.<field>).
    name: str | None = None
    phone: str | None = None
    type: Literal["citizen", "enterprise"] = "citizen"
    credit_code: str | None = None
    enterprise_name: str | None = None
    id_number: str | None = None


class UpstreamAppealIn(InputSchema):
    upstream_number: str = Field(max_length=64, description="The platform's own case number")
    upstream_unit: str = Field(max_length=100, description="The platform's unit that sent it")
    upstream_deadline: dt.datetime = Field(
        description="The platform's reply deadline (ISO 8601 with offset)"
    )
    kind: Literal["complaint", "help", "consultation", "suggestion", "report"]
    urgency: Literal["normal", "urgent", "emergency"] | None = None
    title: str | None = Field(None, max_length=200)
    content: str = Field(max_length=20000)
    submitter: UpstreamSubmitterIn | None = None
    region: str | None = Field(None, max_length=32, description="Region code")
    address: str | None = Field(None, max_length=300)
    lat: float | None = None
    lng: float | None = None
    occurred_at: dt.datetime | None = None
    category: str | None = Field(None, max_length=32, description="Category code")


class UpstreamAppealOut(Schema):
    number: str
    upstream_number: str
    platform: str
    status: str
    reply_due_cap: dt.datetime | None
    created: bool


@router.post(
    "/upstream/{platform}/appeals",
    auth=PlatformSignature(),
    response={200: UpstreamAppealOut, 201: UpstreamAppealOut, **ERRORS},
    summary="An upper-level platform sends an appeal down (上级转办)",
    description=(
        "Signed as Standard Webhooks specifies with the platform's shared secret "
        "(`webhook-id`, `webhook-timestamp`, `webhook-signature`); no bearer token. "
        "The same `upstream_number` again answers 200 with the first appeal."
    ),
)
def push_appeal(
    request: HttpRequest, platform: str, payload: UpstreamAppealIn
) -> Status[dict[str, object]]:
    sender = getattr(request, "auth", None)
    assert isinstance(sender, UpstreamPlatform)
    data = appeal_input(payload, channel="hotline")
    appeal, created = upstream.upstream_register(
        platform=sender,
        data=data,
        upstream_number=payload.upstream_number,
        upstream_unit=payload.upstream_unit,
        upstream_deadline=payload.upstream_deadline,
    )
    return Status(201 if created else 200, _pushed(appeal, sender, created=created))


def _pushed(appeal: Appeal, platform: UpstreamPlatform, *, created: bool) -> dict[str, object]:
    transfer = appeal.upstream
    return {
        "number": appeal.number,
        "upstream_number": transfer.upstream_number,
        "platform": platform.code,
        "status": appeal.status,
        "reply_due_cap": appeal.reply_due_cap,
        "created": created,
    }


class EscalateIn(InputSchema):
    reason: str = Field(max_length=500, description="Why it goes up (required)")
    platform: str | None = Field(
        None, max_length=63, description="Platform code; may be left out if only one is active"
    )


class EscalatedOut(Schema):
    number: str
    platform: str
    reason: str
    at: dt.datetime


@router.post(
    "/appeals/{number}/escalate",
    response={200: EscalatedOut, **ERRORS},
    summary="Escalate an appeal to an upper-level platform (上报)",
    description="Operators and supervisors; sent to the platform's adapter by its webhook.",
)
def escalate_appeal(request: HttpRequest, number: str, payload: EscalateIn) -> dict[str, object]:
    user = request.user
    assert isinstance(user, User)
    appeal = upstream.upstream_escalate(
        actor=user, number=number, platform=payload.platform, reason=payload.reason
    )
    event = appeal.__dict__["recorded_events"][-1]
    return {
        "number": appeal.number,
        "platform": event.payload["platform"],
        "reason": event.note,
        "at": event.at,
    }
