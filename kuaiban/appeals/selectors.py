"""Role-scoped reads of the ledger."""

from __future__ import annotations

import base64
import datetime as dt
import hmac
import json
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db.models import (
    Case,
    DateTimeField,
    F,
    IntegerField,
    Q,
    QuerySet,
    TextChoices,
    Value,
    When,
)
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from kuaiban.appeals import policy
from kuaiban.appeals.models import (
    CONFIDENTIAL_KINDS,
    OPEN_STATUSES,
    PART_PENDING,
    STATUS_ACTIONS,
    TERMINAL_STATUSES,
    Alert,
    Appeal,
    AppealEvent,
    AssistPart,
    Channel,
    Kind,
    Status,
)
from kuaiban.core import clock, throttle
from kuaiban.core.errors import FieldError, NotFound, PermissionDenied, ValidationFailed
from kuaiban.core.text import fold
from kuaiban.core.validation import check_date, check_id, check_year, clean_phone
from kuaiban.org.models import Region, Role, Unit, User


def visible_appeals(user: User) -> QuerySet[Appeal]:
    q = policy.visible_q(user)
    if q is None:
        return Appeal.objects.none()
    return Appeal.objects.filter(q)


def name_event_units(events: list[AppealEvent]) -> list[AppealEvent]:
    """Give each event ``unit_name``: the name of the unit its payload names (dispatch,
    delegate, assist, return …), its code where no such unit exists, "" for none; one query."""

    def code(e: AppealEvent) -> str:
        return str(e.payload.get("unit") or "") if isinstance(e.payload, dict) else ""

    codes = {code(e) for e in events} - {""}
    names: dict[str, str] = dict(Unit.objects.filter(code__in=codes).values_list("code", "name"))
    for event in events:
        event.unit_name = names.get(code(event), code(event))  # type: ignore[attr-defined]
    return events


def appeal_get(*, user: User, number: str) -> Appeal:
    appeal = (
        Appeal.objects.select_related(
            "lead_unit", "handler", "region", "category", "merged_into", "created_by"
        )
        .filter(number=number)
        .first()
    )
    if appeal is None or not policy.can_see(user, appeal):
        raise NotFound(_("No appeal numbered %(number)s.") % {"number": number})
    return appeal


@dataclass
class LedgerFilter:
    status: list[str] = field(default_factory=list)
    unit: str = ""
    channel: str = ""
    kind: str = ""
    region: str = ""
    alert: str = ""
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    q: str = ""
    phone: str = ""  # the submitter's phone, national digits (callers' history)
    sort: str = ""  # "" newest first; "alert": red, then yellow, then by the running deadline

    @classmethod
    def from_params(cls, params: Any) -> LedgerFilter:
        """Parse query parameters (a QueryDict or dict), refusing unknown values clearly."""
        errors: list[tuple[str, str]] = []

        def one(name: str, choices: Any = None) -> str:
            value = (params.get(name) or "").strip()
            if value and choices is not None and value not in choices.values:
                errors.append((name, _("Unknown value %(value)r.") % {"value": value}))
                return ""
            return str(value)

        statuses: list[str] = []
        raw_status = (
            params.getlist("status") if hasattr(params, "getlist") else params.get("status")
        )
        if isinstance(raw_status, str):
            raw_status = raw_status.split(",")
        for s in raw_status or []:
            for part in str(s).split(","):
                part = part.strip()
                if not part:
                    continue
                if part == "open":
                    statuses.extend(
                        s.value
                        for s in Status
                        if s not in (Status.CLOSED, Status.MERGED, Status.INVALID)
                    )
                elif part in Status.values:
                    statuses.append(part)
                else:
                    errors.append(("status", _("Unknown value %(value)r.") % {"value": part}))

        def day(name: str) -> dt.date | None:
            value = (params.get(name) or "").strip()
            if not value:
                return None
            try:
                return check_date(dt.date.fromisoformat(value), name)
            except ValueError:
                errors.append((name, _("Use a date like 2026-11-23.")))
            except ValidationFailed as exc:
                errors.append((name, str(exc.message)))
            return None

        result = cls(
            status=statuses,
            unit=one("unit"),
            channel=one("channel", Channel),
            kind=one("kind", Kind),
            region=one("region"),
            alert=one("alert", Alert),
            date_from=day("from"),
            date_to=day("to"),
            q=(params.get("q") or "").strip()[:100],
            sort=one("sort", LedgerSort),
        )
        raw_phone = (params.get("phone") or "").strip()
        if raw_phone:
            try:
                result.phone = clean_phone(raw_phone, "phone")
            except ValidationFailed as exc:
                errors.extend((e.field, e.message) for e in exc.errors)
        if errors:
            raise ValidationFailed([FieldError(f, m) for f, m in errors])
        return result


def _region_codes(code: str) -> list[int]:
    """The region and everything below it."""
    root = Region.objects.filter(code=code).first()
    if root is None:
        return []
    ids = [root.pk]
    frontier = [root.pk]
    while frontier:
        frontier = list(Region.objects.filter(parent_id__in=frontier).values_list("pk", flat=True))
        ids.extend(frontier)
    return ids


class LedgerSort(TextChoices):
    ALERT = "alert", gettext_lazy("Overdue and due soon first")


# The rank of an alert for sorting (red first) and the deadline that runs in each status.
ALERT_RANK = Case(
    When(alert=Alert.RED, then=Value(0)),
    When(alert=Alert.YELLOW, then=Value(1)),
    default=Value(2),
    output_field=IntegerField(),
)
NEXT_DUE = Case(
    When(status=Status.DISPATCHED, then=F("claim_due")),
    When(status=Status.IN_PROGRESS, then=F("reply_due")),
    When(status=Status.REPLIED, then=F("visit_due")),
    default=Value(None),
    output_field=DateTimeField(),
)


def _local_midnight(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def ledger(*, user: User, f: LedgerFilter) -> QuerySet[Appeal]:
    qs = visible_appeals(user)
    if f.status:
        qs = qs.filter(status__in=f.status)
    if f.unit:
        # By id, not through a join on the code: the planner then knows which unit it is and
        # walks the (lead_unit, status) index instead of sorting a bitmap scan.
        unit_id = Unit.objects.filter(code=f.unit).values_list("id", flat=True).first()
        qs = qs.filter(lead_unit_id=unit_id) if unit_id else qs.none()
    if f.channel:
        qs = qs.filter(channel=f.channel)
    if f.kind:
        qs = qs.filter(kind=f.kind)
    if f.alert:
        qs = qs.filter(alert=f.alert)
    if f.region:
        qs = qs.filter(region_id__in=_region_codes(f.region))
    # Days are local days; compared as instants so the received_at index serves the range.
    if f.date_from:
        qs = qs.filter(received_at__gte=_local_midnight(f.date_from))
    if f.date_to:
        qs = qs.filter(received_at__lt=_local_midnight(f.date_to + dt.timedelta(days=1)))
    if f.phone:
        qs = qs.filter(submitter_phone=_phone_filter_allowed(user, f.phone))
    if f.q:
        needle = fold(f.q)
        if needle.upper().startswith("KB") and "-" in needle:
            qs = qs.filter(number__iexact=f.q.strip())
        else:
            for word in needle.split():
                qs = qs.filter(search_text__contains=word)
    qs = qs.select_related("lead_unit", "region", "category")
    if f.sort == LedgerSort.ALERT:
        return qs.annotate(alert_rank=ALERT_RANK, next_due_at=NEXT_DUE).order_by(
            "alert_rank", F("next_due_at").asc(nulls_last=True), "id"
        )
    return qs.order_by("-received_at", "-id")


def ledger_points(*, user: User, f: LedgerFilter, limit: int) -> list[Appeal]:
    """The ledger's filter for ``user``, only the appeals with a point: the staff map."""
    qs = ledger(user=user, f=f).filter(lat__isnull=False, lng__isnull=False)
    return list(qs.select_related("handler")[:limit])


def _phone_filter_allowed(user: User, phone: str) -> str:
    """Searching by a phone number is for the roles that read numbers in full (operators and
    supervisors): anyone else could confirm a masked number by guessing it."""
    if user.role not in policy.FULL_NUMBERS:
        raise PermissionDenied(_("Your role cannot search appeals by phone number."))
    return phone


# ----- callers' history at intake -----------------------------------------------------------------

CALLER_HISTORY_DAYS = 90
CALLER_HISTORY_ROWS = 20


@dataclass
class CallerHistory:
    """One phone's appeals of the last ``CALLER_HISTORY_DAYS`` days, newest first."""

    phone: str
    appeals: list[Appeal]
    total: int
    open_count: int

    @property
    def repeated(self) -> bool:
        """重复来电: the phone has called about something within the window already."""
        return self.total > 0


def caller_history(*, user: User, phone: str, field_name: str = "phone") -> CallerHistory:
    """What the operator sees while typing a caller's number: the appeals this user may open
    that came from the phone in the last 90 days (so a repeated call is flagged and can be
    merged or joined instead of registered twice)."""
    national = _phone_filter_allowed(user, clean_phone(phone, field_name))
    since = clock.now() - dt.timedelta(days=CALLER_HISTORY_DAYS)
    qs = visible_appeals(user).filter(submitter_phone=national, received_at__gte=since)
    total = qs.count()
    open_count = qs.exclude(status__in=TERMINAL_STATUSES).count() if total else 0
    rows = list(
        qs.select_related("lead_unit", "category").order_by("-received_at", "-id")[
            :CALLER_HISTORY_ROWS
        ]
    )
    return CallerHistory(phone=national, appeals=rows, total=total, open_count=open_count)


# ----- keyset pagination --------------------------------------------------------------------------


def encode_cursor(appeal: Appeal) -> str:
    raw = json.dumps([appeal.received_at.isoformat(), appeal.pk])
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[dt.datetime, int]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        at, pk = json.loads(base64.urlsafe_b64decode(padded.encode()).decode())
        moment = dt.datetime.fromisoformat(at)
        check_year(moment.year, "cursor")
        return moment, check_id(int(pk), "cursor")
    except (ValueError, TypeError, json.JSONDecodeError, UnicodeDecodeError, ValidationFailed):
        raise ValidationFailed.one("cursor", _("Not a cursor this server issued.")) from None


def page(qs: QuerySet[Appeal], *, cursor: str | None, size: int) -> tuple[list[Appeal], str | None]:
    """One page of a ledger ordered by (-received_at, -id), or by alert when the ledger was
    sorted that way, and the cursor of the next."""
    if "alert_rank" in qs.query.annotations:
        return _page_by_alert(qs, cursor=cursor, size=size)
    if cursor:
        at, pk = decode_cursor(cursor)
        # The redundant bound lets the index seek to the cursor instead of skipping every
        # earlier row: deep pages cost what the first one does.
        qs = qs.filter(received_at__lte=at).filter(
            Q(received_at__lt=at) | Q(received_at=at, id__lt=pk)
        )
    rows = list(qs[: size + 1])
    next_cursor = encode_cursor(rows[size - 1]) if len(rows) > size else None
    return rows[:size], next_cursor


def _page_by_alert(
    qs: QuerySet[Appeal], *, cursor: str | None, size: int
) -> tuple[list[Appeal], str | None]:
    """Keyset pages over (alert rank, running deadline with nulls last, id)."""
    if cursor:
        try:
            padded = cursor + "=" * (-len(cursor) % 4)
            tag, rank, due_raw, pk = json.loads(base64.urlsafe_b64decode(padded.encode()))
            if tag != "a":
                raise ValueError(tag)
            rank, pk = check_id(int(rank), "cursor"), check_id(int(pk), "cursor")
            due = dt.datetime.fromisoformat(due_raw) if due_raw else None
            if due is not None:
                check_year(due.year, "cursor")
        except (ValueError, TypeError, json.JSONDecodeError, UnicodeDecodeError, ValidationFailed):
            raise ValidationFailed.one("cursor", _("Not a cursor this server issued.")) from None
        same_rank = (
            Q(next_due_at__gt=due) | Q(next_due_at__isnull=True) | Q(next_due_at=due, id__gt=pk)
            if due is not None
            else Q(next_due_at__isnull=True, id__gt=pk)
        )
        qs = qs.filter(Q(alert_rank__gt=rank) | (Q(alert_rank=rank) & same_rank))
    rows = list(qs[: size + 1])
    next_cursor = None
    if len(rows) > size:
        last = rows[size - 1]
        due_at: dt.datetime | None = getattr(last, "next_due_at", None)
        raw = json.dumps(
            ["a", getattr(last, "alert_rank", 2), due_at.isoformat() if due_at else None, last.pk]
        )
        next_cursor = base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")
    return rows[:size], next_cursor


def inbox(*, user: User) -> dict[str, QuerySet[Appeal]]:
    """A handler's desk: to claim, in progress, and due soon (or overdue)."""
    base = visible_appeals(user).filter(lead_unit_id=user.unit_id).select_related("region")
    return {
        "to_claim": base.filter(status=Status.DISPATCHED).order_by("claim_due", "id"),
        "in_progress": base.filter(status=Status.IN_PROGRESS).order_by("reply_due", "id"),
        "due_soon": base.filter(
            status__in=[Status.DISPATCHED, Status.IN_PROGRESS], alert__in=[Alert.YELLOW, Alert.RED]
        ).order_by("reply_due", "id"),
    }


def grid_open(*, user: User) -> dict[str, QuerySet[Appeal]]:
    """A grid worker's list: the open appeals its grid leads, and the other open appeals in its
    grid (led by a department, a township or the village, or not dispatched yet)."""
    unit = user.unit
    if user.role != Role.GRID_WORKER or unit is None or unit.region_id is None:
        return {"led": Appeal.objects.none(), "in_grid": Appeal.objects.none()}
    open_ = visible_appeals(user).filter(status__in=OPEN_STATUSES).select_related("lead_unit")
    return {
        "led": open_.filter(lead_unit_id=unit.pk).order_by("reply_due", "id"),
        "in_grid": open_.filter(region_id=unit.region_id)
        .exclude(lead_unit_id=unit.pk)
        .order_by("-received_at", "-id"),
    }


def assist_inbox(*, user: User) -> QuerySet[AssistPart]:
    """A co-unit's desk: the parts its unit still owes on appeals the lead holds, soonest due
    first (a part of an appeal that was merged, invalidated or already replied waits no more)."""
    if user.role != Role.HANDLER or not user.unit_id:
        return AssistPart.objects.none()
    return (
        AssistPart.objects.filter(
            unit_id=user.unit_id,
            status__in=PART_PENDING,
            appeal__status__in=[Status.DISPATCHED, Status.IN_PROGRESS],
        )
        .exclude(appeal__kind__in=CONFIDENTIAL_KINDS)
        .select_related("appeal", "appeal__lead_unit", "claimed_by")
        .order_by("due", "id")
    )


def track_subjects(*, number: str, client: str) -> tuple[throttle.Subject, throttle.Subject]:
    """What the public lookups count wrong guesses against: the client address and the number."""
    window = settings.KUAIBAN_TRACK_WINDOW_MINUTES * 60
    return (
        throttle.Subject("track:addr", client, settings.KUAIBAN_TRACK_FAILURES_PER_ADDRESS, window),
        throttle.Subject(
            "track:number", number, settings.KUAIBAN_TRACK_FAILURES_PER_NUMBER, window
        ),
    )


def track(*, number: str, key: str, client: str) -> Appeal:
    """The public lookup: tracking number plus the receipt's access code (查询码) or, as a
    convenience, the last four digits of the phone given. Wrong guesses are counted per client
    address and per number; past the limits every lookup is Throttled (429)."""
    number = number.strip().upper()
    typed = key.strip()
    if not typed:
        raise ValidationFailed.one(
            "code",
            _("Enter the access code on your receipt, or the last four digits of your phone."),
        )
    subjects = track_subjects(number=number, client=client)
    throttle.check(*subjects)
    appeal = (
        Appeal.objects.select_related("lead_unit", "merged_into").filter(number=number).first()
        if number
        else None
    )
    if typed.isdigit() and len(typed) == 4:
        ok = appeal is not None and hmac.compare_digest(typed, appeal.phone_last4 or "----")
    else:
        ok = appeal is not None and appeal.access_code_matches(typed)
    if appeal is None or not ok:
        throttle.fail(*subjects)
        # One answer for an unknown number and a wrong key: the number's existence is not told.
        raise NotFound(_("No appeal matches that number and access code."))
    return appeal


PUBLIC_ACTIONS = frozenset(STATUS_ACTIONS)
