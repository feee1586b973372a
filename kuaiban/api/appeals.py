"""The appeals endpoints: thin; parse, call one service or selector, render."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from django.conf import settings
from django.http import HttpRequest
from django.http.response import HttpResponseBase
from django.utils.translation import gettext as _
from ninja import Field, File, Form, Header, Path, Query, Router, Schema, Status, UploadedFile

from kuaiban.api.schemas import ERRORS, InputSchema, QuerySchema, RefOut, appeal_input
from kuaiban.appeals import policy, selectors, services
from kuaiban.appeals.models import Appeal, AppealEvent, Attachment
from kuaiban.core import uploads
from kuaiban.core.errors import NotFound
from kuaiban.core.validation import mask_id, mask_phone
from kuaiban.intake import intake_register, intake_suggestions
from kuaiban.org.models import User
from kuaiban.routing.schemas import SuggestionsOut

router = Router(tags=["appeals"])

ChannelT = Literal[
    "hotline",
    "mailbox",
    "direct_line",
    "grid",
    "wechat",
    "breakfast",
    "petition",
    "visit",
    "web",
    "app",
    "open311",
    "inspection",
]
KindT = Literal["complaint", "help", "consultation", "suggestion", "report"]
UrgencyT = Literal["normal", "urgent", "emergency"]
StatusT = Literal[
    "received", "dispatched", "in_progress", "replied", "visited", "closed", "merged", "invalid"
]


class SubmitterIn(InputSchema):
    name: str | None = None
    phone: str | None = None
    type: Literal["citizen", "enterprise"] = "citizen"
    credit_code: str | None = None
    enterprise_name: str | None = None
    id_number: str | None = None


class AppealIn(InputSchema):
    channel: ChannelT
    kind: KindT
    urgency: UrgencyT | None = None
    title: str | None = None
    content: str
    submitter: SubmitterIn | None = None
    region: str | None = Field(None, description="Region code")
    address: str | None = None
    lat: float | None = Field(None, description="Latitude, WGS-84 (with lng)")
    lng: float | None = Field(None, description="Longitude, WGS-84 (with lat)")
    occurred_at: dt.datetime | None = None
    group_size: int | None = Field(None, description="People in a group petition visit")
    category: str | None = Field(None, description="Category code")


class SubmitterOut(Schema):
    type: str
    name: str
    phone: str
    id_number: str
    enterprise_name: str
    credit_code: str


class EventOut(Schema):
    seq: int
    at: dt.datetime
    actor: str
    action: str
    from_status: str | None
    to_status: str | None
    note: str
    payload: dict[str, object]


class AppealOut(Schema):
    number: str
    status: StatusT
    channel: str
    kind: str
    urgency: str
    title: str
    content: str
    category: RefOut | None
    submitter: SubmitterOut
    region: RefOut | None
    address: str
    lat: float | None
    lng: float | None
    occurred_at: dt.datetime | None
    group_size: int | None
    received_at: dt.datetime
    lead_unit: RefOut | None
    co_units: list[RefOut]
    handler: str | None
    claim_due: dt.datetime | None
    reply_due: dt.datetime | None
    visit_due: dt.datetime | None
    notice_due: dt.datetime | None = Field(
        None, description="A petition's written notice of acceptance (受理告知) is due by"
    )
    noticed_at: dt.datetime | None = None
    alert: Literal["none", "yellow", "red"]
    reply_result: str | None
    reply_text: str
    resolved_on_spot: bool = False
    merged_into: str | None
    return_count: int
    rework_count: int


class PartOut(Schema):
    unit: RefOut
    status: Literal["summoned", "open", "claimed", "answered"]
    due: dt.datetime
    report_due: dt.datetime | None = Field(
        None, description="For a department whistled in (吹哨): report (报到) by then"
    )
    reported_at: dt.datetime | None = None
    claimed_by: str | None
    claimed_at: dt.datetime | None
    text: str
    result: str | None
    answered_by: str | None
    answered_at: dt.datetime | None


class ReviewOut(Schema):
    level: Literal["review", "recheck"]
    requested_at: dt.datetime
    reason: str
    due: dt.datetime
    outcome: Literal["upheld", "changed"] | None
    opinion: str
    decided_at: dt.datetime | None


class AppealDetailOut(AppealOut):
    events: list[EventOut]
    reviews: list[ReviewOut] = Field(
        [], description="A petition's review (复查) and re-examination (复核), oldest first"
    )
    parts: list[PartOut] = Field(
        [],
        description="The co-units' parts (协办) the caller may read: all for the lead unit "
        "and overseers, its own for a co-unit",
    )


class AppealCreatedOut(AppealDetailOut):
    suggestions: SuggestionsOut | None = Field(
        None, description="Suggested categories and lead units (null: none available)"
    )


class AppealPage(Schema):
    items: list[AppealOut]
    next_cursor: str | None


def _ref(obj: object | None) -> RefOut | None:
    if obj is None:
        return None
    return RefOut(code=obj.code, name=obj.name)  # type: ignore[attr-defined]


def appeal_out(
    appeal: Appeal, user: User, *, co_units: list[RefOut] | None = None
) -> dict[str, object]:
    mask = policy.number_mask(user, appeal)
    full = mask.full
    return {
        "number": appeal.number,
        "status": appeal.status,
        "channel": appeal.channel,
        "kind": appeal.kind,
        "urgency": appeal.urgency,
        "title": mask(appeal.title),
        "content": mask(appeal.content),
        "category": _ref(appeal.category),
        "submitter": {
            "type": appeal.submitter_type,
            "name": appeal.submitter_name,
            "phone": appeal.submitter_phone if full else mask_phone(appeal.submitter_phone),
            "id_number": appeal.submitter_id_number
            if full
            else mask_id(appeal.submitter_id_number),
            "enterprise_name": appeal.enterprise_name,
            "credit_code": appeal.credit_code,
        },
        "region": _ref(appeal.region),
        "address": mask(appeal.address),
        "lat": float(appeal.lat) if appeal.lat is not None else None,
        "lng": float(appeal.lng) if appeal.lng is not None else None,
        "occurred_at": appeal.occurred_at,
        "group_size": appeal.group_size,
        "received_at": appeal.received_at,
        "lead_unit": _ref(appeal.lead_unit),
        "co_units": co_units if co_units is not None else [_ref(u) for u in appeal.co_units.all()],
        "handler": str(appeal.handler) if appeal.handler_id else None,
        "claim_due": appeal.claim_due,
        "reply_due": appeal.reply_due,
        "visit_due": appeal.visit_due,
        "notice_due": appeal.notice_due,
        "noticed_at": appeal.noticed_at,
        "alert": appeal.alert,
        "reply_result": appeal.reply_result or None,
        "reply_text": mask(appeal.reply_text),
        "resolved_on_spot": appeal.resolved_on_spot,
        "merged_into": appeal.merged_into.number if appeal.merged_into_id else None,  # type: ignore[union-attr]
        "return_count": appeal.return_count,
        "rework_count": appeal.rework_count,
    }


def event_out(event: AppealEvent, mask: policy.NumberMask) -> dict[str, object]:
    return {
        "seq": event.seq,
        "at": event.at,
        "actor": event.actor_label,
        "action": event.action,
        "from_status": event.from_status or None,
        "to_status": event.to_status or None,
        "note": mask(event.note),
        "payload": mask.deep(event.payload),
    }


def parts_out(appeal: Appeal, user: User) -> list[dict[str, object]]:
    mask = policy.number_mask(user, appeal)
    return [
        {
            "unit": _ref(p.unit),
            "status": p.status,
            "due": p.due,
            "report_due": p.report_due,
            "reported_at": p.reported_at,
            "claimed_by": str(p.claimed_by) if p.claimed_by_id else None,
            "claimed_at": p.claimed_at,
            "text": mask(p.text),
            "result": p.result or None,
            "answered_by": str(p.answered_by) if p.answered_by_id else None,
            "answered_at": p.answered_at,
        }
        for p in policy.visible_parts(user, appeal)
    ]


def reviews_out(appeal: Appeal, user: User) -> list[dict[str, object]]:
    if appeal.channel != "petition":
        return []
    mask = policy.number_mask(user, appeal)
    return [
        {
            "level": r.level,
            "requested_at": r.requested_at,
            "reason": mask(r.reason),
            "due": r.due,
            "outcome": r.outcome or None,
            "opinion": mask(r.opinion),
            "decided_at": r.decided_at,
        }
        for r in appeal.reviews.order_by("requested_at")
    ]


def _detail(appeal: Appeal, user: User) -> dict[str, object]:
    out = appeal_out(appeal, user)
    out["events"] = [
        event_out(e, policy.number_mask(user, appeal)) for e in appeal.events.order_by("seq")
    ]
    out["parts"] = parts_out(appeal, user)
    out["reviews"] = reviews_out(appeal, user)
    return out


def _user(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)
    return user


@router.post(
    "",
    response={200: AppealCreatedOut, 201: AppealCreatedOut, **ERRORS},
    summary="Register an appeal",
    description=(
        "With an `Idempotency-Key` header (e.g. a UUID) a retry is safe: the same key with the "
        "same body answers 200 with the first appeal; the same key with another body is 409."
    ),
)
def create_appeal(
    request: HttpRequest,
    payload: AppealIn,
    idempotency_key: str | None = Header(None, alias="Idempotency-Key"),
) -> Status[dict[str, object]]:
    user = _user(request)
    data = appeal_input(payload)
    came = intake_register(
        actor=user,
        data=data,
        idempotency_key=idempotency_key,
        body=payload.model_dump(mode="json"),
    )
    return Status(201 if came.created else 200, _created(came.appeal, user, new=came.created))


def _created(appeal: Appeal, user: User, *, new: bool) -> dict[str, object]:
    recorded = appeal.__dict__.get("recorded_events", [])
    if new and len(recorded) == appeal.event_count == _event_count(appeal):
        # Nothing happened to it since it was written (the usual case): answer from memory.
        out = appeal_out(appeal, user, co_units=[])
        out["events"] = [event_out(e, policy.number_mask(user, appeal)) for e in recorded]
    elif new:
        # An after-commit hook moved it on already (routing's automatic dispatch): re-read it.
        out = _detail(selectors.appeal_get(user=user, number=appeal.number or ""), user)
    else:  # an Idempotency-Key replay
        out = _detail(appeal, user)
    out["suggestions"] = intake_suggestions(appeal)
    return out


def _event_count(appeal: Appeal) -> int | None:
    return Appeal.objects.filter(pk=appeal.pk).values_list("event_count", flat=True).first()


class ListParams(QuerySchema):
    status: str | None = Field(None, description="Comma list of statuses, or `open`")
    unit: str | None = None
    channel: str | None = None
    kind: str | None = None
    region: str | None = None
    alert: str | None = None
    from_: dt.date | None = Field(None, alias="from")
    to: dt.date | None = None
    q: str | None = Field(None, description="Keyword search (simplified or traditional)")
    phone: str | None = Field(
        None,
        description="The submitter's phone (operators and supervisors only): a caller's history",
        max_length=32,
    )
    sort: Literal["alert"] | None = Field(
        None, description="`alert`: red, then yellow, then by the running deadline; default newest"
    )
    cursor: str | None = None
    limit: int = Field(50, ge=1, le=200)


@router.get("", response={200: AppealPage, **ERRORS}, summary="The ledger, filtered")
def list_appeals(request: HttpRequest, params: Query[ListParams]) -> dict[str, object]:
    user = _user(request)
    raw = {
        "status": params.status or "",
        "unit": params.unit or "",
        "channel": params.channel or "",
        "kind": params.kind or "",
        "region": params.region or "",
        "alert": params.alert or "",
        "from": params.from_.isoformat() if params.from_ else "",
        "to": params.to.isoformat() if params.to else "",
        "q": params.q or "",
        "phone": params.phone or "",
        "sort": params.sort or "",
    }
    f = selectors.LedgerFilter.from_params(raw)
    rows, next_cursor = selectors.page(
        selectors.ledger(user=user, f=f)
        .prefetch_related("co_units")
        .select_related("handler", "merged_into"),
        cursor=params.cursor,
        size=params.limit,
    )
    return {
        "items": [appeal_out(a, user) for a in rows],
        "next_cursor": next_cursor,
    }


@router.get(
    "/{number}", response={200: AppealDetailOut, **ERRORS}, summary="One appeal and its history"
)
def get_appeal(request: HttpRequest, number: str) -> dict[str, object]:
    user = _user(request)
    return _detail(selectors.appeal_get(user=user, number=number), user)


class DispatchIn(InputSchema):
    unit: str
    co_units: list[str] = []
    note: str | None = None


class DelegateIn(InputSchema):
    unit: str = Field(
        max_length=32,
        description="A village/community or grid unit under the township, or the township "
        "itself to take the appeal back",
    )
    note: str | None = Field(None, max_length=500)


class WhistleIn(InputSchema):
    units: list[Annotated[str, Field(max_length=32)]] = Field(
        max_length=10, description="Codes of the departments called in (网格吹哨)"
    )
    note: str = Field(max_length=500, description="What the departments are called in for")


class OnSpotIn(InputSchema):
    text: str = Field(max_length=2000, description="How the grid worker resolved it")


class ReasonIn(InputSchema):
    reason: str


class ReplyIn(InputSchema):
    result: Literal["resolved", "partly", "unresolved"]
    text: str
    reason: str | None = Field(
        None, description="Why the lead replies before every co-unit has answered its part"
    )


class AssistIn(InputSchema):
    result: Literal["resolved", "partly", "unresolved"]
    text: str = Field(description="The co-unit's opinion on its part")


class AppealVisitIn(InputSchema):
    reached: bool
    resolved: bool | None = None
    satisfaction: Literal["satisfied", "basic", "dissatisfied"] | None = None
    authentic: bool | None = None
    note: str | None = None


class NoteIn(InputSchema):
    note: str | None = None


class MergeIn(InputSchema):
    into: str


class AppealAnswerIn(InputSchema):
    text: str


class EmptyIn(InputSchema):
    pass


def _written_events(appeal: Appeal) -> list[AppealEvent]:
    """The appeal's history up to the event this request's transaction wrote."""
    return list(appeal.events.filter(seq__lte=appeal.event_count).order_by("seq"))


def done(request: HttpRequest, appeal: Appeal) -> dict[str, object]:
    """``_done`` for the routers of other modules (the petition steps)."""
    return _done(request, appeal)


def _done(request: HttpRequest, appeal: Appeal) -> dict[str, object]:
    """Answer an action from the state its transaction wrote (the service's ``appeal``).

    Never re-read it through the role-scoped selector: by now another committed action (a
    return racing this claim) may have taken it out of the actor's sight, and an action that
    committed must not answer 404.
    """
    user = _user(request)
    out = appeal_out(appeal, user)
    out["events"] = [
        event_out(e, policy.number_mask(user, appeal)) for e in _written_events(appeal)
    ]
    out["parts"] = parts_out(appeal, user)
    out["reviews"] = reviews_out(appeal, user)
    return out


@router.post("/{number}/dispatch", response={200: AppealDetailOut, **ERRORS})
def dispatch(request: HttpRequest, number: str, payload: DispatchIn) -> dict[str, object]:
    return _done(
        request,
        services.appeal_dispatch(
            actor=_user(request),
            number=number,
            unit=payload.unit,
            co_units=payload.co_units,
            note=payload.note or "",
        ),
    )


@router.post("/{number}/claim", response={200: AppealDetailOut, **ERRORS})
def claim(request: HttpRequest, number: str, payload: EmptyIn | None = None) -> dict[str, object]:
    return _done(request, services.appeal_claim(actor=_user(request), number=number))


@router.post("/{number}/return", response={200: AppealDetailOut, **ERRORS})
def return_(request: HttpRequest, number: str, payload: ReasonIn) -> dict[str, object]:
    appeal = services.appeal_return(actor=_user(request), number=number, reason=payload.reason)
    # After a return the unit no longer holds the appeal; answer with what it may still see.
    user = _user(request)
    out = appeal_out(appeal, user, co_units=[])
    out["events"] = [
        event_out(e, policy.number_mask(user, appeal)) for e in _written_events(appeal)
    ]
    return out


@router.post("/{number}/reply", response={200: AppealDetailOut, **ERRORS})
def reply(request: HttpRequest, number: str, payload: ReplyIn) -> dict[str, object]:
    return _done(
        request,
        services.appeal_reply(
            actor=_user(request),
            number=number,
            result=payload.result,
            text=payload.text,
            reason=payload.reason or "",
        ),
    )


@router.post(
    "/{number}/delegate",
    response={200: AppealDetailOut, **ERRORS},
    summary="A township hands the appeal down to one of its villages or grids (下派)",
    description=(
        "By a handler of the township that leads it, or that delegated it and oversees it (to "
        "hand it to another of its villages or take it back by naming itself). The new lead "
        "claims it anew; the reply deadline stays. One `delegate` event."
    ),
)
def delegate(request: HttpRequest, number: str, payload: DelegateIn) -> dict[str, object]:
    return _done(
        request,
        services.appeal_delegate(
            actor=_user(request), number=number, unit=payload.unit, note=payload.note or ""
        ),
    )


@router.post(
    "/{number}/whistle",
    response={200: AppealDetailOut, **ERRORS},
    summary="A village or grid calls departments in (网格吹哨、部门报到)",
    description=(
        "By a handler of the village, or a grid worker of the grid, that leads the appeal. Each "
        "named department gets a co-unit part it must report (`POST .../report`) within "
        "KUAIBAN_REPORT_HOURS working hours (2 by default). One `whistle` event."
    ),
)
def whistle(request: HttpRequest, number: str, payload: WhistleIn) -> dict[str, object]:
    return _done(
        request,
        services.appeal_whistle(
            actor=_user(request), number=number, units=payload.units, note=payload.note
        ),
    )


@router.post(
    "/{number}/report",
    response={200: AppealDetailOut, **ERRORS},
    summary="A whistled-in department reports (报到); it then claims and answers its part",
)
def report(request: HttpRequest, number: str, payload: EmptyIn | None = None) -> dict[str, object]:
    return _done(request, services.appeal_report(actor=_user(request), number=number))


@router.post(
    "/{number}/resolve_on_spot",
    response={200: AppealDetailOut, **ERRORS},
    summary="A grid worker resolved it on the spot (就地解决)",
    description=(
        "By a grid worker of the grid that leads the appeal, while no whistled-in department's "
        "part is pending. Replied as resolved, `resolved_on_spot` set; one `resolve_on_spot` "
        "event; the return visit follows as after any reply."
    ),
)
def resolve_on_spot(request: HttpRequest, number: str, payload: OnSpotIn) -> dict[str, object]:
    return _done(
        request,
        services.appeal_resolve_on_spot(actor=_user(request), number=number, text=payload.text),
    )


@router.post(
    "/{number}/assist/claim",
    response={200: AppealDetailOut, **ERRORS},
    summary="A co-unit's handler claims the unit's part (协办)",
)
def assist_claim(
    request: HttpRequest, number: str, payload: EmptyIn | None = None
) -> dict[str, object]:
    return _done(request, services.appeal_assist_claim(actor=_user(request), number=number))


@router.post(
    "/{number}/assist",
    response={200: AppealDetailOut, **ERRORS},
    summary="A co-unit answers its part (claims it too if nobody has)",
)
def assist(request: HttpRequest, number: str, payload: AssistIn) -> dict[str, object]:
    return _done(
        request,
        services.appeal_assist(
            actor=_user(request), number=number, text=payload.text, result=payload.result
        ),
    )


@router.post("/{number}/answer", response={200: AppealDetailOut, **ERRORS})
def answer(request: HttpRequest, number: str, payload: AppealAnswerIn) -> dict[str, object]:
    return _done(
        request, services.appeal_answer(actor=_user(request), number=number, text=payload.text)
    )


@router.post("/{number}/visit", response={200: AppealDetailOut, **ERRORS})
def visit(request: HttpRequest, number: str, payload: AppealVisitIn) -> dict[str, object]:
    return _done(
        request,
        services.appeal_visit(
            actor=_user(request),
            number=number,
            data=services.VisitInput(
                reached=payload.reached,
                resolved=payload.resolved,
                satisfaction=payload.satisfaction,
                authentic=payload.authentic,
                note=payload.note,
            ),
        ),
    )


@router.post("/{number}/rework", response={200: AppealDetailOut, **ERRORS})
def rework(request: HttpRequest, number: str, payload: NoteIn) -> dict[str, object]:
    return _done(
        request,
        services.appeal_rework(actor=_user(request), number=number, note=payload.note or ""),
    )


@router.post("/{number}/close", response={200: AppealDetailOut, **ERRORS})
def close(request: HttpRequest, number: str, payload: NoteIn | None = None) -> dict[str, object]:
    note = payload.note if payload else ""
    return _done(
        request, services.appeal_close(actor=_user(request), number=number, note=note or "")
    )


@router.post("/{number}/merge", response={200: AppealDetailOut, **ERRORS})
def merge(request: HttpRequest, number: str, payload: MergeIn) -> dict[str, object]:
    return _done(
        request, services.appeal_merge(actor=_user(request), number=number, into=payload.into)
    )


@router.post("/{number}/invalidate", response={200: AppealDetailOut, **ERRORS})
def invalidate(request: HttpRequest, number: str, payload: ReasonIn) -> dict[str, object]:
    return _done(
        request,
        services.appeal_invalidate(actor=_user(request), number=number, reason=payload.reason),
    )


# ----- attachments --------------------------------------------------------------------------------


class AttachmentOut(Schema):
    id: int
    name: str
    content_type: str
    size: int
    stage: str  # intake, reply, visit, later
    public: bool  # shown to the submitter on the public pages (the unit's reply photos)
    uploaded_at: dt.datetime
    url: str  # GET it with the same bearer token


def attachment_out(row: Attachment) -> AttachmentOut:
    return AttachmentOut(
        id=row.pk,
        name=row.name,
        content_type=row.content_type,
        size=row.size,
        stage=row.stage,
        public=row.public,
        uploaded_at=row.uploaded_at,
        url=f"/api/v1/appeals/{row.appeal.number}/attachments/{row.pk}",
    )


@router.post(
    "/{number}/attachments",
    response={201: list[AttachmentOut], **ERRORS},
    summary="Add photos or documents to an open appeal (multipart/form-data)",
    description=(
        "`files`: up to 9 photos (JPEG, PNG, WebP …) or PDFs, 20 MB each at most, judged by their "
        "content; photos are re-saved without EXIF (GPS included). `note?`. The desk, or a handler "
        "of the lead unit; one `attach` event. Never shown to the public."
    ),
)
def attachments_add(
    request: HttpRequest,
    number: Annotated[str, Path(max_length=32)],
    files: File[list[UploadedFile]],
    note: Form[str] = "",
) -> Status:
    limit = int(settings.KUAIBAN_PHOTOS_PER_APPEAL)
    prepared = uploads.prepare_all(files, field="files", limit=limit)
    rows = services.appeal_attach(actor=_user(request), number=number, files=prepared, note=note)
    return Status(201, [attachment_out(r) for r in rows])


@router.get(
    "/{number}/attachments",
    response={200: list[AttachmentOut], **ERRORS},
    summary="The appeal's photos and documents",
)
def attachments_list(
    request: HttpRequest, number: Annotated[str, Path(max_length=32)]
) -> list[AttachmentOut]:
    appeal = selectors.appeal_get(user=_user(request), number=number)
    return [attachment_out(r) for r in appeal.attachments.select_related("appeal")]


@router.get(
    "/{number}/attachments/{attachment_id}",
    response={200: None, **ERRORS},
    summary="One photo or document (its bytes)",
)
def attachment_get(
    request: HttpRequest,
    number: Annotated[str, Path(max_length=32)],
    attachment_id: Annotated[int, Path(ge=1, le=2**62)],
) -> HttpResponseBase:
    appeal = selectors.appeal_get(user=_user(request), number=number)
    row = appeal.attachments.filter(pk=attachment_id).first()
    if row is None:
        raise NotFound(_("No such file."))
    return row.response()
