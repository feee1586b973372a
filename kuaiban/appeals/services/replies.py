"""Every write to the ledger. One function per transition; nothing else changes an appeal's status.

Each transition locks the appeal row, checks the actor's role and unit, the current status and the
input, writes the new state and exactly one event (hash-chained) in the same transaction, and runs
the registered after-commit hooks (notifications, webhooks) only once the transaction commits.
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime as dt
import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import partial
from typing import Any, TypeVar

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from kuaiban.appeals import audit, policy
from kuaiban.appeals.models import (
    ALLOWED_TRANSITIONS,
    Action,
    Appeal,
    AppealEvent,
    Category,
    Channel,
    Kind,
    ReplyResult,
    Satisfaction,
    Status,
    SubmitterType,
    Urgency,
    Visit,
)
from kuaiban.core import clock
from kuaiban.core.errors import Conflict, FieldError, NotFound, PermissionDenied, ValidationFailed
from kuaiban.core.text import fold
from kuaiban.core.validation import check_date, clean_credit_code, clean_id_number, clean_phone
from kuaiban.deadlines import services as deadlines
from kuaiban.org.models import Region, Role, Unit, User

TITLE_MAX = 120
TEXT_MAX = 2000
REASON_MAX = 500
NAME_MAX = 100
ADDRESS_MAX = 200
GROUP_MAX = 10000
MAX_RETURNS = 2
UNREACHED_ATTEMPTS_TO_END = 3

log = logging.getLogger(__name__)
_Coded = TypeVar("_Coded", Region, Category)

EventHook = Callable[[Appeal, AppealEvent], None]
_event_hooks: list[EventHook] = []
_hooks_paused: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "kuaiban_hooks_paused", default=False
)


def on_event(hook: EventHook) -> EventHook:
    """Register ``hook(appeal, event)``, called after each event's transaction commits.

    Hooks get the objects the transaction wrote (the appeal as it was committed), so the many
    events a hook does not care about cost it no query. A hook that writes must not save the
    appeal it is given: it may be stale by then; lock and re-read it through a service instead.
    """
    _event_hooks.append(hook)
    return hook


@contextlib.contextmanager
def hooks_paused() -> Iterator[None]:
    """Record events without running the after-commit hooks (webhooks, notifications, routing).

    For replaying history that happened elsewhere (the ledger importer): its events are facts
    of the past, not news; nobody is told of them and nothing is dispatched automatically.
    """
    token = _hooks_paused.set(True)
    try:
        yield
    finally:
        _hooks_paused.reset(token)


def _run_hooks(appeal: Appeal, event: AppealEvent) -> None:
    # The change is committed: a failing hook is logged and must neither stop the others nor
    # turn the committed change into an error for the person who made it.
    for hook in _event_hooks:
        try:
            hook(appeal, event)
        except Exception:
            log.exception("after-commit hook %s failed for event %s", hook.__qualname__, event.pk)


# ----- helpers ----------------------------------------------------------------------------------


def record_event(
    appeal: Appeal,
    *,
    actor: User | None,
    action: str,
    from_status: str = "",
    to_status: str = "",
    note: str = "",
    payload: dict[str, Any] | None = None,
    at: dt.datetime | None = None,
) -> AppealEvent:
    """Append one event to the appeal's chain; the caller saves the appeal afterwards."""
    at = (at or clock.now()).astimezone(dt.UTC)
    seq = appeal.event_count + 1
    prev = appeal.last_event_hash
    payload = payload or {}
    event = AppealEvent(
        appeal=appeal,
        seq=seq,
        at=at,
        actor=actor,
        actor_label=actor.label if actor else _("system"),
        action=action,
        from_status=from_status,
        to_status=to_status,
        note=note,
        payload=payload,
        prev_hash=prev,
    )
    audit.seal(event)  # plain SHA-256, or HMAC-SHA256 with AUDIT_KEY
    event.save(force_insert=True)
    appeal.event_count = seq
    appeal.last_event_hash = event.hash
    appeal.__dict__.setdefault("recorded_events", []).append(event)
    if _event_hooks and not _hooks_paused.get():
        transaction.on_commit(partial(_run_hooks, appeal, event))
    return event


def _text(value: str | None, field: str, *, required: bool, limit: int) -> str:
    text = (value or "").strip()
    if required and not text:
        raise ValidationFailed.one(field, _("This field is required."))
    if len(text) > limit:
        raise ValidationFailed.one(
            field, _("At most %(limit)d characters (got %(n)d).") % {"limit": limit, "n": len(text)}
        )
    return text


def _locked(number: str) -> Appeal:
    appeal = (
        Appeal.objects.select_for_update(of=("self",))
        .select_related("lead_unit")
        .filter(number=number)
        .first()
    )
    if appeal is None:
        raise NotFound(_("No appeal numbered %(number)s.") % {"number": number})
    return appeal


def _guard(appeal: Appeal, actor: User | None, action: str) -> None:
    """Refuse: 404 if the actor can't see it, 403 for the wrong role, 409 for the wrong state.

    ``actor`` None is the system replaying a history recorded elsewhere (the ledger importer,
    which an administrator runs): only the state check applies, as for registration by the
    system. Every request by a person passes that person."""
    if actor is not None:
        _guard_person(appeal, actor, action)
    if appeal.status not in ALLOWED_TRANSITIONS[action]:
        raise Conflict(
            _("Cannot %(action)s an appeal that is %(status)s.")
            % {"action": Action(action).label, "status": appeal.get_status_display()},
            code="wrong_status",
        )


def _guard_person(appeal: Appeal, actor: User, action: str) -> None:
    if not policy.can_see(actor, appeal):
        raise NotFound(_("No appeal numbered %(number)s.") % {"number": appeal.number})
    if not policy.may(actor, action, appeal):
        if action in policy.UNIT_BOUND_ACTIONS and actor.role == Role.HANDLER:
            raise PermissionDenied(_("Only a handler of the lead unit may do this."))
        raise PermissionDenied(
            _("Your role (%(role)s) may not do this.") % {"role": actor.get_role_display()}
        )


def _choice(value: str | None, field: str, choices: Any, *, default: str | None = None) -> str:
    if value in (None, "") and default is not None:
        return default
    if value not in choices.values:
        allowed = ", ".join(choices.values)
        raise ValidationFailed.one(
            field,
            _("Unknown value %(value)r; one of: %(allowed)s.")
            % {"value": value, "allowed": allowed},
        )
    return str(value)


def _optional(clean: Callable[[str, str], str], value: str | None, field: str) -> str:
    """An optional identifier: empty stays empty, anything else must be valid."""
    return clean(value, field) if value and value.strip() else ""


def _unit(code: str | None, field: str) -> Unit:
    if not code:
        raise ValidationFailed.one(field, _("This field is required."))
    unit = Unit.objects.filter(code=code, active=True).first()
    if unit is None:
        raise ValidationFailed.one(field, _("Unknown unit %(code)r.") % {"code": code})
    return unit


def _known(model: type[_Coded], code: str | None, field: str, unknown: str) -> _Coded | None:
    """The row of ``model`` with this code; None for no code, a field error for an unknown one."""
    if not code:
        return None
    found = model._default_manager.filter(code=code).first()
    if found is None:
        raise ValidationFailed.one(field, unknown % {"code": code})
    return found


# ----- registration -----------------------------------------------------------------------------


@dataclass
class AppealInput:
    channel: str
    kind: str
    content: str
    urgency: str | None = None
    title: str | None = None
    submitter_type: str | None = None
    submitter_name: str | None = None
    submitter_phone: str | None = None
    submitter_id_number: str | None = None
    enterprise_name: str | None = None
    credit_code: str | None = None
    region: str | None = None
    address: str | None = None
    occurred_at: dt.datetime | None = None
    group_size: int | None = None
    category: str | None = None


def validate_input(data: AppealInput) -> dict[str, Any]:
    """Check every field; collect all problems so the form can show each beside its field."""
    errors: list[FieldError] = []
    clean: dict[str, Any] = {}

    def run(field: str, fn: Callable[[], Any]) -> None:
        try:
            clean[field] = fn()
        except ValidationFailed as exc:
            errors.extend(exc.errors)

    run("channel", lambda: _choice(data.channel, "channel", Channel))
    run("kind", lambda: _choice(data.kind, "kind", Kind))
    run("urgency", lambda: _choice(data.urgency, "urgency", Urgency, default=Urgency.NORMAL))
    run("title", lambda: _text(data.title, "title", required=False, limit=TITLE_MAX))
    run(
        "content",
        lambda: _text(data.content, "content", required=True, limit=settings.KUAIBAN_CONTENT_MAX),
    )
    run(
        "submitter_type",
        lambda: _choice(
            data.submitter_type, "submitter.type", SubmitterType, default=SubmitterType.CITIZEN
        ),
    )
    run(
        "submitter_name",
        lambda: _text(data.submitter_name, "submitter.name", required=False, limit=NAME_MAX),
    )
    run(
        "submitter_phone",
        lambda: _optional(clean_phone, data.submitter_phone, "submitter.phone"),
    )
    run(
        "submitter_id_number",
        lambda: _optional(clean_id_number, data.submitter_id_number, "submitter.id_number"),
    )
    run(
        "enterprise_name",
        lambda: _text(data.enterprise_name, "submitter.enterprise_name", required=False, limit=200),
    )
    run(
        "credit_code",
        lambda: _optional(clean_credit_code, data.credit_code, "submitter.credit_code"),
    )
    needs_code = clean.get("submitter_type") == SubmitterType.ENTERPRISE
    if needs_code and not clean.get("credit_code"):  # noqa: SIM102 - two reasons, two lines
        if not any(e.field == "submitter.credit_code" for e in errors):
            errors.append(
                FieldError(
                    "submitter.credit_code",
                    _("An enterprise needs its unified social credit code."),
                )
            )

    run("region", lambda: _known(Region, data.region, "region", _("Unknown region %(code)r.")))
    run("address", lambda: _text(data.address, "address", required=False, limit=ADDRESS_MAX))

    def occurred() -> dt.datetime | None:
        if data.occurred_at is None:
            return None
        value = data.occurred_at
        check_date(value, "occurred_at")  # before the time zone: year 1 or 9999 ± 8 h overflows
        if timezone.is_naive(value):
            value = timezone.make_aware(value)
        if value > clock.now() + dt.timedelta(minutes=5):
            raise ValidationFailed.one("occurred_at", _("Cannot be in the future."))
        return value

    run("occurred_at", occurred)

    def group() -> int | None:
        if data.group_size in (None, ""):
            return None
        try:
            size = int(data.group_size)
        except (TypeError, ValueError):
            raise ValidationFailed.one("group_size", _("Must be a whole number.")) from None
        if not 1 <= size <= GROUP_MAX:
            raise ValidationFailed.one(
                "group_size", _("Between 1 and %(max)d people.") % {"max": GROUP_MAX}
            )
        if clean.get("channel") != Channel.PETITION:
            raise ValidationFailed.one("group_size", _("Only petition visits have a group size."))
        return size

    run("group_size", group)

    run(
        "category",
        lambda: _known(Category, data.category, "category", _("Unknown category %(code)r.")),
    )
    if errors:
        raise ValidationFailed(errors)
    return clean


def number_for(appeal_id: int, received_at: dt.datetime) -> str:
    local = timezone.localtime(received_at)
    return f"{settings.KUAIBAN_NUMBER_PREFIX}{local:%Y%m%d}-{appeal_id:06d}"


def appeal_register(
    *, actor: User | None, data: AppealInput, extra_payload: dict[str, Any] | None = None
) -> Appeal:
    """Put a new appeal in the ledger. ``actor`` None is the system (an integration)."""
    with transaction.atomic():
        return appeal_register_within(actor=actor, data=data, extra_payload=extra_payload)


def appeal_id_next_sql() -> str | None:
    """On PostgreSQL, an SQL expression that draws the id of an appeal about to be registered
    from its sequence, so a row that points to it can be written first, drawing the id in the
    same statement (foreign keys are checked at commit). None on SQLite, which numbers rows as
    it inserts them."""
    if connection.vendor != "postgresql":
        return None
    return f"nextval(pg_get_serial_sequence('{Appeal._meta.db_table}', 'id'))"


def appeal_id_draw() -> int | None:
    """On PostgreSQL, the id of an appeal about to be registered (see appeal_id_next_sql)."""
    expression = appeal_id_next_sql()
    if expression is None:
        return None
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {expression}")
        return int(cursor.fetchone()[0])


def appeal_register_within(
    *,
    actor: User | None,
    data: AppealInput,
    extra_payload: dict[str, Any] | None = None,
    appeal_id: int | None = None,
) -> Appeal:
    """``appeal_register`` inside the caller's open transaction, without a savepoint of its own.

    For callers that write more rows with the appeal (Open311's request, the idempotency key)
    and let any failure roll all of them back: a SAVEPOINT and its RELEASE are two round trips
    per appeal. Validation happens before any write. ``appeal_id``: one drawn
    by ``appeal_id_draw`` or ``appeal_id_next_sql``.
    """
    if not connection.in_atomic_block:
        raise RuntimeError("appeal_register_within needs an open transaction.atomic() block")
    if actor is not None and not policy.may(actor, Action.REGISTER):
        raise PermissionDenied(_("Your role may not register appeals."))
    clean = validate_input(data)
    now = clock.now()
    phone = clean["submitter_phone"]
    appeal = Appeal(
        **clean,
        search_text=fold(f"{clean['title']}\n{clean['content']}"),
        phone_last4=phone[-4:] if phone else "",
        received_at=now,
        created_by=actor,
    )
    payload = {"channel": appeal.channel, "kind": appeal.kind, **(extra_payload or {})}
    if connection.vendor == "postgresql":
        # Draw the id first so the row is written once, with its number and the head of its
        # event chain: a second write would touch every index again (the number is indexed, so
        # that UPDATE cannot be HOT). The event goes in first; its foreign key is checked at
        # commit (Django's PostgreSQL foreign keys are DEFERRABLE INITIALLY DEFERRED).
        appeal.pk = appeal_id if appeal_id is not None else appeal_id_draw()
        appeal.number = number_for(appeal.pk, now)
        record_event(
            appeal, actor=actor, action=Action.REGISTER, to_status=Status.RECEIVED, payload=payload
        )
        appeal.save(force_insert=True)
        return appeal
    appeal.save(force_insert=True)
    appeal.number = number_for(appeal.pk, now)
    record_event(
        appeal, actor=actor, action=Action.REGISTER, to_status=Status.RECEIVED, payload=payload
    )
    appeal.save(update_fields=["number", "event_count", "last_event_hash"])
    return appeal


# ----- transitions ------------------------------------------------------------------------------


def _set_status(appeal: Appeal, to: str, now: dt.datetime) -> str:
    before = appeal.status
    appeal.status = to
    stamp = {
        Status.DISPATCHED: "dispatched_at",
        Status.IN_PROGRESS: "claimed_at",
        Status.REPLIED: "replied_at",
        Status.VISITED: "visited_at",
        Status.CLOSED: "closed_at",
    }.get(Status(to))
    if stamp and (to != Status.IN_PROGRESS or before == Status.DISPATCHED):
        setattr(appeal, stamp, now)
    if to in (Status.CLOSED, Status.MERGED, Status.INVALID):
        appeal.ended_at = now
    return before


@transaction.atomic
def appeal_dispatch(
    *,
    actor: User | None,
    number: str,
    unit: str,
    co_units: Iterable[str] = (),
    note: str = "",
    extra_payload: dict[str, Any] | None = None,
) -> Appeal:
    """Give the appeal to a lead unit; ``extra_payload`` adds keys to the event (auto=True ...)."""
    appeal = _locked(number)
    _guard(appeal, actor, Action.DISPATCH)
    if appeal.return_count >= MAX_RETURNS and actor and actor.role != Role.SUPERVISOR:
        raise PermissionDenied(
            _("This appeal was returned twice: a supervisor arbitrates its dispatch.")
        )
    lead = _unit(unit, "unit")
    co_codes = [c for c in dict.fromkeys(co_units) if c]
    co = [_unit(code, "co_units") for code in co_codes]
    if any(u.pk == lead.pk for u in co):
        raise ValidationFailed.one("co_units", _("The lead unit cannot also be a co-handler."))
    note = _text(note, "note", required=False, limit=REASON_MAX)
    now = clock.now()
    before = _set_status(appeal, Status.DISPATCHED, now)
    appeal.lead_unit = lead
    appeal.handler = None
    deadlines.schedule(appeal, "reply", "claim", start=now)
    appeal.visit_due = None
    final = appeal.return_count >= MAX_RETURNS
    record_event(
        appeal,
        actor=actor,
        action=Action.DISPATCH,
        from_status=before,
        to_status=Status.DISPATCHED,
        note=note,
        payload={
            **(extra_payload or {}),
            "unit": lead.code,
            "co_units": [u.code for u in co],
            "final": final,
            # The clocks this dispatch started, so `audit verify` can replay them.
            "claim_due": deadlines.iso(appeal.claim_due),
            "reply_due": deadlines.iso(appeal.reply_due),
        },
    )
    appeal.save()
    appeal.co_units.set(co)
    return appeal


@transaction.atomic
def appeal_claim(*, actor: User | None, number: str) -> Appeal:
    appeal = _locked(number)
    _guard(appeal, actor, Action.CLAIM)
    now = clock.now()
    before = _set_status(appeal, Status.IN_PROGRESS, now)
    appeal.handler = actor
    record_event(
        appeal,
        actor=actor,
        action=Action.CLAIM,
        from_status=before,
        to_status=Status.IN_PROGRESS,
        payload={"on_time": bool(appeal.claim_due and now <= appeal.claim_due)},
    )
    appeal.save()
    return appeal


@transaction.atomic
def appeal_return(*, actor: User, number: str, reason: str) -> Appeal:
    appeal = _locked(number)
    _guard(appeal, actor, Action.RETURN)
    reason = _text(reason, "reason", required=True, limit=REASON_MAX)
    if appeal.return_count >= MAX_RETURNS:
        raise Conflict(
            _("A supervisor's arbitrated dispatch is final and cannot be returned."),
            code="final_dispatch",
        )
    now = clock.now()
    unit_code = appeal.lead_unit.code if appeal.lead_unit else ""
    before = _set_status(appeal, Status.RECEIVED, now)
    appeal.lead_unit = None
    appeal.handler = None
    appeal.claim_due = None
    appeal.reply_due = None
    appeal.return_count += 1
    record_event(
        appeal,
        actor=actor,
        action=Action.RETURN,
        from_status=before,
        to_status=Status.RECEIVED,
        note=reason,
        payload={"unit": unit_code, "returns": appeal.return_count},
    )
    appeal.save()
    appeal.co_units.clear()
    return appeal


@transaction.atomic
def appeal_reply(*, actor: User | None, number: str, result: str, text: str) -> Appeal:
    appeal = _locked(number)
    _guard(appeal, actor, Action.REPLY)
    result = _choice(result, "result", ReplyResult)
    text = _text(text, "text", required=True, limit=TEXT_MAX)
    now = clock.now()
    before = _set_status(appeal, Status.REPLIED, now)
    appeal.reply_result = result
    appeal.reply_text = text
    deadlines.schedule(appeal, "visit", start=now)
    record_event(
        appeal,
        actor=actor,
        action=Action.REPLY,
        from_status=before,
        to_status=Status.REPLIED,
        note=text,
        payload={
            "result": result,
            "on_time": bool(appeal.reply_due is None or now <= appeal.reply_due),
            "visit_due": deadlines.iso(appeal.visit_due),
        },
    )
    appeal.save()
    return appeal


@transaction.atomic
def appeal_answer(*, actor: User | None, number: str, text: str) -> Appeal:
    """Answer a consultation at intake: no dispatch needed, straight to replied."""
    appeal = _locked(number)
    _guard(appeal, actor, Action.ANSWER)
    if appeal.kind != Kind.CONSULTATION:
        raise Conflict(_("Only consultations can be answered at intake."), code="wrong_kind")
    text = _text(text, "text", required=True, limit=TEXT_MAX)
    now = clock.now()
    before = _set_status(appeal, Status.REPLIED, now)
    appeal.reply_result = ReplyResult.RESOLVED
    appeal.reply_text = text
    deadlines.schedule(appeal, "visit", start=now)
    record_event(
        appeal,
        actor=actor,
        action=Action.ANSWER,
        from_status=before,
        to_status=Status.REPLIED,
        note=text,
        payload={"result": ReplyResult.RESOLVED, "visit_due": deadlines.iso(appeal.visit_due)},
    )
    appeal.save()
    return appeal


def _rework(appeal: Appeal, actor: User | None, now: dt.datetime, note: str, cause: str) -> None:
    before = _set_status(appeal, Status.IN_PROGRESS, now)
    appeal.rework_count += 1
    appeal.reply_result = ""
    appeal.visit_due = None
    deadlines.schedule(appeal, "reply", start=now)
    if appeal.handler_id is None and appeal.lead_unit_id is None:
        # Answered at intake: the rework goes back to the registration desk.
        before_rework = before
        appeal.status = Status.RECEIVED
        appeal.reply_due = None
        record_event(
            appeal,
            actor=actor,
            action=Action.REWORK,
            from_status=before_rework,
            to_status=Status.RECEIVED,
            note=note,
            payload={"cause": cause, "reworks": appeal.rework_count},
        )
        return
    record_event(
        appeal,
        actor=actor,
        action=Action.REWORK,
        from_status=before,
        to_status=Status.IN_PROGRESS,
        note=note,
        payload={
            "cause": cause,
            "reworks": appeal.rework_count,
            "reply_due": deadlines.iso(appeal.reply_due),
        },
    )


@dataclass
class VisitInput:
    reached: bool
    resolved: bool | None = None
    satisfaction: str | None = None
    authentic: bool | None = None
    note: str | None = None


@transaction.atomic
def appeal_visit(*, actor: User | None, number: str, data: VisitInput) -> Appeal:
    """Record a return visit. Unreached: an attempt (three on different days end it unrated).
    Reached: the rating; dissatisfied or untrue sends the appeal back for rework."""
    appeal = _locked(number)
    _guard(appeal, actor, Action.VISIT)
    note = _text(data.note, "note", required=False, limit=REASON_MAX)
    now = clock.now()
    if not data.reached:
        Visit.objects.create(appeal=appeal, at=now, visitor=actor, reached=False, note=note)
        # This round's calls only: those since the latest reply (a rework starts a new round).
        calls = appeal.visits.filter(reached=False, at__gte=appeal.replied_at).only("at")
        days = {timezone.localtime(v.at).date() for v in calls}
        if len(days) >= UNREACHED_ATTEMPTS_TO_END:
            before = _set_status(appeal, Status.VISITED, now)
            record_event(
                appeal,
                actor=actor,
                action=Action.VISIT,
                from_status=before,
                to_status=Status.VISITED,
                note=note,
                payload={"reached": False, "rated": False, "attempts": len(days)},
            )
        else:
            record_event(
                appeal,
                actor=actor,
                action=Action.VISIT_ATTEMPT,
                note=note,
                payload={"reached": False, "attempts": len(days)},
            )
        appeal.save()
        return appeal

    errors: list[FieldError] = []
    if data.resolved is None:
        errors.append(FieldError("resolved", _("Say whether the problem was resolved.")))
    if data.satisfaction not in Satisfaction.values:
        errors.append(FieldError("satisfaction", _("One of: satisfied, basic, dissatisfied.")))
    if data.authentic is None:
        errors.append(FieldError("authentic", _("Say whether the unit really made contact.")))
    if errors:
        raise ValidationFailed(errors)
    assert data.satisfaction is not None
    Visit.objects.create(
        appeal=appeal,
        at=now,
        visitor=actor,
        reached=True,
        resolved=data.resolved,
        satisfaction=data.satisfaction,
        authentic=data.authentic,
        note=note,
    )
    before = _set_status(appeal, Status.VISITED, now)
    record_event(
        appeal,
        actor=actor,
        action=Action.VISIT,
        from_status=before,
        to_status=Status.VISITED,
        note=note,
        payload={
            "reached": True,
            "rated": True,
            "resolved": data.resolved,
            "satisfaction": data.satisfaction,
            "authentic": data.authentic,
        },
    )
    if data.satisfaction == Satisfaction.DISSATISFIED or data.authentic is False:
        cause = "dissatisfied" if data.satisfaction == Satisfaction.DISSATISFIED else "untrue"
        _rework(appeal, actor, now, note, cause)
    appeal.save()
    return appeal


@transaction.atomic
def appeal_rework(*, actor: User | None, number: str, note: str) -> Appeal:
    appeal = _locked(number)
    _guard(appeal, actor, Action.REWORK)
    note = _text(note, "note", required=True, limit=REASON_MAX)
    _rework(appeal, actor, clock.now(), note, "supervisor")
    appeal.save()
    return appeal


@transaction.atomic
def appeal_close(*, actor: User | None, number: str, note: str = "") -> Appeal:
    appeal = _locked(number)
    _guard(appeal, actor, Action.CLOSE)
    note = _text(note, "note", required=False, limit=REASON_MAX)
    now = clock.now()
    before = _set_status(appeal, Status.CLOSED, now)
    record_event(
        appeal,
        actor=actor,
        action=Action.CLOSE,
        from_status=before,
        to_status=Status.CLOSED,
        note=note,
    )
    appeal.save()
    return appeal


@transaction.atomic
def appeal_merge(*, actor: User | None, number: str, into: str) -> Appeal:
    """Merge a repeated appeal into a master; the master's result reaches both submitters."""
    into = (into or "").strip()
    if not into:
        raise ValidationFailed.one("into", _("This field is required."))
    if into == number:
        raise ValidationFailed.one("into", _("An appeal cannot be merged into itself."))
    # Lock both rows in a fixed order so two opposite merges cannot deadlock.
    locked = {
        a.number: a
        for a in Appeal.objects.select_for_update(of=("self",))
        .filter(number__in=sorted([number, into]))
        .order_by("number")
    }
    if number not in locked:
        raise NotFound(_("No appeal numbered %(number)s.") % {"number": number})
    appeal = locked[number]
    _guard(appeal, actor, Action.MERGE)
    master = locked.get(into)
    if master is None or (actor is not None and not policy.can_see(actor, master)):
        raise ValidationFailed.one("into", _("No appeal numbered %(number)s.") % {"number": into})
    if not master.is_open:
        raise ValidationFailed.one(
            "into", _("Appeal %(number)s is already finished.") % {"number": into}
        )
    now = clock.now()
    before = _set_status(appeal, Status.MERGED, now)
    appeal.merged_into = master
    record_event(
        appeal,
        actor=actor,
        action=Action.MERGE,
        from_status=before,
        to_status=Status.MERGED,
        payload={"into": master.number},
    )
    appeal.save()
    record_event(master, actor=actor, action=Action.MERGED_IN, payload={"appeal": appeal.number})
    master.save(update_fields=["event_count", "last_event_hash", "updated_at"])
    return appeal


@transaction.atomic
def appeal_invalidate(*, actor: User | None, number: str, reason: str) -> Appeal:
    appeal = _locked(number)
    _guard(appeal, actor, Action.INVALIDATE)
    reason = _text(reason, "reason", required=True, limit=REASON_MAX)
    now = clock.now()
    before = _set_status(appeal, Status.INVALID, now)
    appeal.invalid_reason = reason
    record_event(
        appeal,
        actor=actor,
        action=Action.INVALIDATE,
        from_status=before,
        to_status=Status.INVALID,
        note=reason,
    )
    appeal.save()
    return appeal
