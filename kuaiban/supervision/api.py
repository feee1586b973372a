"""Supervision endpoints under /api/v1/: extensions and decisions, supervision orders,
notifications, the arbitration queue and monthly bulletins. Thin: parse, call one service or
selector, render."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema, Status

from kuaiban.api.schemas import ERRORS, InputSchema, QuerySchema
from kuaiban.appeals import policy
from kuaiban.core import clock
from kuaiban.core.errors import PermissionDenied
from kuaiban.org.models import Role, User
from kuaiban.supervision import bulletin, selectors
from kuaiban.supervision.models import Extension, Notification, OrderEvent, SupervisionOrder
from kuaiban.supervision.services import extensions, orders
from kuaiban.supervision.services import notifications as notify

router = Router(tags=["supervision"])


def _user(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)
    return user


# ----- extensions -------------------------------------------------------------------------------


class ExtensionIn(InputSchema):
    appeal: str = Field(description="Tracking number of an appeal in progress")
    reason: str
    proposed_due: str = Field(
        description="A date (the end of that working day) or an ISO 8601 time, e.g. 2026-12-04"
    )


class DecisionIn(InputSchema):
    decision: Literal["approve", "refuse"]
    note: str | None = Field(None, description="Required when refusing")
    due: str | None = Field(None, description="Grant another deadline than the one proposed")


class ExtensionOut(Schema):
    id: int
    appeal: str
    unit: str
    requested_by: str
    requested_at: dt.datetime
    reason: str
    current_due: dt.datetime
    proposed_due: dt.datetime
    status: Literal["pending", "approved", "refused"]
    decided_by: str | None
    decided_at: dt.datetime | None
    decision_note: str
    granted_due: dt.datetime | None


class ExtensionPage(Schema):
    items: list[ExtensionOut]
    next_cursor: str | None


def extension_out(e: Extension) -> dict[str, object]:
    return {
        "id": e.pk,
        "appeal": e.appeal.number,
        "unit": e.unit.code,
        "requested_by": e.requested_by.label,
        "requested_at": e.requested_at,
        "reason": e.reason,
        "current_due": e.current_due,
        "proposed_due": e.proposed_due,
        "status": e.status,
        "decided_by": e.decided_by.label if e.decided_by else None,
        "decided_at": e.decided_at,
        "decision_note": e.decision_note,
        "granted_due": e.granted_due,
    }


class ExtensionParams(QuerySchema):
    status: Literal["pending", "approved", "refused"] | None = None
    appeal: str | None = None
    cursor: str | None = None
    limit: int = Field(50, ge=1, le=200)


@router.get("/extensions", response={200: ExtensionPage, **ERRORS}, summary="Extension requests")
def list_extensions(request: HttpRequest, params: Query[ExtensionParams]) -> dict[str, object]:
    qs = selectors.visible_extensions(_user(request)).order_by("-id")
    if params.status:
        qs = qs.filter(status=params.status)
    if params.appeal:
        qs = qs.filter(appeal__number=params.appeal)
    rows, next_cursor = selectors.page_by_id(qs, cursor=params.cursor, size=params.limit)
    return {"items": [extension_out(e) for e in rows], "next_cursor": next_cursor}


@router.post(
    "/extensions", response={201: ExtensionOut, **ERRORS}, summary="Ask for more time (handler)"
)
def request_extension(request: HttpRequest, payload: ExtensionIn) -> Status[dict[str, object]]:
    extension = extensions.extension_request(
        actor=_user(request),
        number=payload.appeal,
        reason=payload.reason,
        proposed_due=payload.proposed_due,
    )
    return Status(201, extension_out(extension))


@router.get("/extensions/{extension_id}", response={200: ExtensionOut, **ERRORS})
def get_extension(request: HttpRequest, extension_id: int) -> dict[str, object]:
    return extension_out(selectors.extension_get(user=_user(request), extension_id=extension_id))


@router.post(
    "/extensions/{extension_id}/decision",
    response={200: ExtensionOut, **ERRORS},
    summary="Approve or refuse (supervisor)",
)
def decide_extension(
    request: HttpRequest, extension_id: int, payload: DecisionIn
) -> dict[str, object]:
    user = _user(request)
    selectors.extension_get(user=user, extension_id=extension_id)  # 404 before 403
    extension = extensions.extension_decide(
        actor=user,
        extension_id=extension_id,
        decision=payload.decision,
        note=payload.note or "",
        due=payload.due,
    )
    return extension_out(extension)


# ----- supervision orders -----------------------------------------------------------------------


class OrderIn(InputSchema):
    appeal: str | None = Field(None, description="Tracking number, for an order on an appeal")
    unit: str | None = Field(None, description="Unit code; default: the appeal's lead unit")
    level: Literal["yellow", "red"]
    text: str
    due: str = Field(description="A date (end of that working day) or an ISO 8601 time")


class OrderAnswerIn(InputSchema):
    text: str


class CloseIn(InputSchema):
    note: str | None = None


class ReopenIn(InputSchema):
    note: str
    due: str | None = None
    level: Literal["yellow", "red"] | None = None


class OrderEventOut(Schema):
    seq: int
    at: dt.datetime
    actor: str
    action: str
    note: str
    payload: dict[str, object]


class OrderOut(Schema):
    number: str
    appeal: str | None
    unit: str
    level: Literal["yellow", "red"]
    text: str
    due: dt.datetime
    status: Literal["open", "answered", "closed"]
    overdue: bool
    issued_by: str
    issued_at: dt.datetime
    answer: str
    answered_at: dt.datetime | None
    closed_at: dt.datetime | None


class OrderDetailOut(OrderOut):
    events: list[OrderEventOut]


class OrderPage(Schema):
    items: list[OrderOut]
    next_cursor: str | None


def order_out(o: SupervisionOrder, now: dt.datetime) -> dict[str, object]:
    return {
        "number": o.number,
        "appeal": o.appeal.number if o.appeal else None,
        "unit": o.unit.code,
        "level": o.level,
        "text": o.text,
        "due": o.due_at,
        "status": o.status,
        "overdue": o.status == SupervisionOrder.Status.OPEN and o.due_at <= now,
        "issued_by": o.issued_by.label,
        "issued_at": o.issued_at,
        "answer": o.answer,
        "answered_at": o.answered_at,
        "closed_at": o.closed_at,
    }


def _event_out(e: OrderEvent) -> dict[str, object]:
    return {
        "seq": e.seq,
        "at": e.at,
        "actor": e.actor_label,
        "action": e.action,
        "note": e.note,
        "payload": e.payload,
    }


def _order_detail(user: User, number: str) -> dict[str, object]:
    order = orders.order_get(user=user, number=number)
    out = order_out(order, clock.now())
    out["events"] = [_event_out(e) for e in order.events.order_by("seq")]
    return out


class OrderParams(QuerySchema):
    status: str | None = None
    level: str | None = None
    unit: str | None = None
    overdue: bool | None = None
    cursor: str | None = None
    limit: int = Field(50, ge=1, le=200)


@router.get("/supervision-orders", response={200: OrderPage, **ERRORS}, summary="Orders")
def list_orders(request: HttpRequest, params: Query[OrderParams]) -> dict[str, object]:
    now = clock.now()
    f = selectors.OrderFilter.from_params(
        {
            "status": params.status,
            "level": params.level,
            "unit": params.unit,
            "overdue": "1" if params.overdue else "",
        }
    )
    qs = selectors.orders(user=_user(request), f=f, now=now)
    rows, next_cursor = selectors.page_by_id(qs, cursor=params.cursor, size=params.limit)
    return {"items": [order_out(o, now) for o in rows], "next_cursor": next_cursor}


@router.post(
    "/supervision-orders",
    response={201: OrderDetailOut, **ERRORS},
    summary="Issue an order (supervisor)",
)
def issue_order(request: HttpRequest, payload: OrderIn) -> Status[dict[str, object]]:
    user = _user(request)
    order = orders.order_issue(
        actor=user,
        appeal=payload.appeal,
        unit=payload.unit,
        level=payload.level,
        text=payload.text,
        due=payload.due,
    )
    return Status(201, _order_detail(user, order.number or ""))


@router.get("/supervision-orders/{number}", response={200: OrderDetailOut, **ERRORS})
def get_order(request: HttpRequest, number: str) -> dict[str, object]:
    return _order_detail(_user(request), number)


@router.post("/supervision-orders/{number}/answer", response={200: OrderDetailOut, **ERRORS})
def answer_order(request: HttpRequest, number: str, payload: OrderAnswerIn) -> dict[str, object]:
    user = _user(request)
    orders.order_answer(actor=user, number=number, text=payload.text)
    return _order_detail(user, number)


@router.post("/supervision-orders/{number}/close", response={200: OrderDetailOut, **ERRORS})
def close_order(
    request: HttpRequest, number: str, payload: CloseIn | None = None
) -> dict[str, object]:
    user = _user(request)
    orders.order_close(actor=user, number=number, note=payload.note or "" if payload else "")
    return _order_detail(user, number)


@router.post("/supervision-orders/{number}/reopen", response={200: OrderDetailOut, **ERRORS})
def reopen_order(request: HttpRequest, number: str, payload: ReopenIn) -> dict[str, object]:
    user = _user(request)
    orders.order_reopen(
        actor=user, number=number, note=payload.note, due=payload.due, level=payload.level
    )
    return _order_detail(user, number)


# ----- notifications ----------------------------------------------------------------------------


class NotificationOut(Schema):
    id: int
    kind: str
    text: str
    url: str
    appeal: str | None
    order: str | None
    created_at: dt.datetime
    read_at: dt.datetime | None


class NotificationPage(Schema):
    items: list[NotificationOut]
    unread: int
    next_cursor: str | None


class NotificationParams(QuerySchema):
    unread: bool = False
    cursor: str | None = None
    limit: int = Field(50, ge=1, le=200)


class ReadAllOut(Schema):
    marked: int


def notification_out(n: Notification) -> dict[str, object]:
    return {
        "id": n.pk,
        "kind": n.kind,
        "text": notify.text(n),
        "url": n.url,
        "appeal": n.params.get("number") or None,
        "order": n.params.get("order") or None,
        "created_at": n.created_at,
        "read_at": n.read_at,
    }


@router.get(
    "/notifications", response={200: NotificationPage, **ERRORS}, summary="My notifications"
)
def list_notifications(
    request: HttpRequest, params: Query[NotificationParams]
) -> dict[str, object]:
    user = _user(request)
    qs = selectors.notifications_for(user, unread=params.unread)
    rows, next_cursor = selectors.page_by_id(qs, cursor=params.cursor, size=params.limit)
    return {
        "items": [notification_out(n) for n in rows],
        "unread": selectors.notifications_for(user, unread=True).count(),
        "next_cursor": next_cursor,
    }


@router.post("/notifications/read-all", response={200: ReadAllOut, **ERRORS})
def read_all(request: HttpRequest) -> dict[str, object]:
    return {"marked": notify.notifications_read_all(actor=_user(request))}


@router.post("/notifications/{notification_id}/read", response={200: NotificationOut, **ERRORS})
def read_one(request: HttpRequest, notification_id: int) -> dict[str, object]:
    n = notify.notification_read(actor=_user(request), notification_id=notification_id)
    return notification_out(n)


# ----- arbitration and bulletins ----------------------------------------------------------------


class ReturnOut(Schema):
    at: dt.datetime
    unit: str
    reason: str


class ArbitrationOut(Schema):
    number: str
    title: str
    returns: list[ReturnOut]


@router.get(
    "/arbitration",
    response={200: list[ArbitrationOut], **ERRORS},
    summary="Appeals returned twice, waiting for a supervisor's final dispatch",
)
def arbitration(request: HttpRequest) -> list[dict[str, object]]:
    user = _user(request)
    if not selectors.may_arbitrate(user):
        raise PermissionDenied(_("Only supervisors arbitrate disputed dispatches."))
    appeals = list(selectors.arbitration_queue()[:200])
    history = selectors.return_history(appeals)
    return [
        {
            "number": a.number,
            "title": a.title,
            "returns": [
                {"at": e.at, "unit": str(e.payload.get("unit", "")), "reason": e.note}
                for e in history[a.pk]
            ],
        }
        for a in appeals
        if policy.can_see(user, a)
    ]


class BulletinUnitOut(Schema):
    unit: str
    overdue: int
    returns: int
    reworks: int


class BulletinOverdueOut(Schema):
    number: str
    title: str
    unit: str
    stage: str
    due: dt.datetime | None
    status: str


class BulletinOrderOut(Schema):
    number: str
    unit: str
    level: str
    appeal: str
    due: dt.datetime
    status: str
    overdue: bool


class BulletinOut(Schema):
    month: str
    summary: str
    received: int
    closed: int
    returns: int
    reworks: int
    extensions_requested: int
    extensions_approved: int
    overdue: list[BulletinOverdueOut]
    units: list[BulletinUnitOut]
    orders: list[BulletinOrderOut]


BULLETIN_ROLES = frozenset({Role.SUPERVISOR, Role.LEADER, Role.ADMIN})


@router.get(
    "/bulletins/{month}", response={200: BulletinOut, **ERRORS}, summary="A month's bulletin"
)
def get_bulletin(request: HttpRequest, month: str) -> dict[str, object]:
    if _user(request).role not in BULLETIN_ROLES:
        raise PermissionDenied(_("Bulletins are for supervisors, leaders and administrators."))
    year, number = bulletin.parse_month(month)
    b = bulletin.build(year, number)
    return {
        "month": b.slug,
        "summary": b.summary,
        "received": b.received,
        "closed": b.closed,
        "returns": b.returns,
        "reworks": b.reworks,
        "extensions_requested": b.extensions_requested,
        "extensions_approved": b.extensions_approved,
        "overdue": [vars(o) for o in b.overdue],
        "units": [vars(u) for u in b.units],
        "orders": [vars(o) for o in b.orders],
    }
