"""The tamper-evident ledger: hash-chained events, the appeal row proven by them, daily anchors.

Three layers, each checked by ``kuaiban audit verify``:

1. **The chain.** Each event's hash covers a canonical JSON of its content and the previous
   event's hash; the appeal row keeps the head (the last hash) and the event count, so a deleted,
   appended or edited event is caught. With ``AUDIT_KEY`` set the hash is HMAC-SHA256 under that
   key (``hash_scheme`` says which), so a chain recomputed without the key is caught too.
2. **The row.** The appeal's state columns (status, lead and co-units, handler, reply, the
   timestamp of each state, counters, deadlines, alert) are a function of its events:
   :func:`replay` rebuilds them and verify compares them with the row, so an ``UPDATE`` of the
   row alone is caught.
3. **The anchors.** :func:`anchor_write` (``kuaiban audit anchor``, and the sweep once a day)
   seals every appeal's chain head into a :class:`LedgerAnchor` chained to the day before, so an
   appeal deleted with all its events no longer reproduces the anchors that saw it.
"""

from __future__ import annotations

import bisect
import datetime as dt
import hashlib
import hmac
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Max, Min
from django.utils import timezone

from kuaiban.appeals.models import (
    Appeal,
    AppealEvent,
    LedgerAnchor,
    ReplyResult,
    Status,
    Visit,
)
from kuaiban.core import clock

PLAIN = ""
HMAC = "hmac-sha256"
SCHEMES = (PLAIN, HMAC)
# Event times and state timestamps are taken by two calls to the clock in one transaction.
SLACK = dt.timedelta(seconds=1)
ANCHORS_RECOMPUTED = 7


class KeyMissing(Exception):
    """A keyed hash to compute or check, and no AUDIT_KEY."""


def audit_key() -> bytes:
    return str(getattr(settings, "AUDIT_KEY", "") or "").encode("utf-8")


def _mac(body: bytes, scheme: str, key: bytes) -> str:
    if scheme == PLAIN:
        return hashlib.sha256(body).hexdigest()
    if scheme == HMAC:
        if not key:
            raise KeyMissing
        return hmac.new(key, body, hashlib.sha256).hexdigest()
    raise ValueError(f"unknown hash scheme {scheme!r}")


def event_digest(
    *,
    appeal_id: int,
    seq: int,
    at_iso: str,
    actor_id: int | None,
    action: str,
    from_status: str,
    to_status: str,
    note: str,
    payload: dict[str, Any],
    prev_hash: str,
    scheme: str = PLAIN,
    key: bytes = b"",
) -> str:
    body = json.dumps(
        [
            appeal_id,
            seq,
            at_iso,
            actor_id,
            action,
            from_status,
            to_status,
            note,
            payload,
            prev_hash,
        ],
        ensure_ascii=False,
        sort_keys=True,
        separators=(",", ":"),
        default=str,
    )
    return _mac(body.encode("utf-8"), scheme, key)


def digest_of(event: AppealEvent, key: bytes | None = None) -> str:
    """The hash ``event`` should carry under its own ``hash_scheme``."""
    return event_digest(
        appeal_id=event.appeal_id,
        seq=event.seq,
        at_iso=event.at.astimezone(dt.UTC).isoformat(),
        actor_id=event.actor_id,
        action=event.action,
        from_status=event.from_status,
        to_status=event.to_status,
        note=event.note,
        payload=event.payload,
        prev_hash=event.prev_hash,
        scheme=event.hash_scheme,
        key=audit_key() if key is None else key,
    )


def seal(event: AppealEvent) -> None:
    """Set the hash of a new event: keyed when AUDIT_KEY is set, plain SHA-256 otherwise."""
    key = audit_key()
    event.hash_scheme = HMAC if key else PLAIN
    event.hash = digest_of(event, key)


# ----- replay: the appeal row as its events say it must be ---------------------------------------


class _Unknown:
    """A column older events do not tell (written before their payload carried it)."""

    def __repr__(self) -> str:
        return "unknown"


UNKNOWN: Any = _Unknown()
UNREACHED: tuple[Any, ...] = (False, None, "", None)
STAMPS = {
    Status.DISPATCHED: "dispatched_at",
    Status.REPLIED: "replied_at",
    Status.VISITED: "visited_at",
    Status.CLOSED: "closed_at",
}
ENDS = (Status.CLOSED, Status.MERGED, Status.INVALID)
TIMES = (
    "received_at",
    "dispatched_at",
    "claimed_at",
    "replied_at",
    "visited_at",
    "closed_at",
    "ended_at",
    "claim_due",
    "reply_due",
    "visit_due",
    "alert_due",
)
COMPARED = (
    "status",
    "lead_unit",
    "co_units",
    "handler_id",
    "merged_into",
    "reply_result",
    "reply_text",
    "invalid_reason",
    "return_count",
    "rework_count",
    "extension_count",
    "alert",
    "alert_stage",
    *TIMES,
)
ROW_FIELDS = (
    "id",
    "number",
    "last_event_hash",
    "event_count",
    "status",
    "lead_unit__code",
    "handler_id",
    "merged_into__number",
    "reply_result",
    "reply_text",
    "invalid_reason",
    "return_count",
    "rework_count",
    "extension_count",
    "alert",
    "alert_stage",
    *TIMES,
)


@dataclass
class State:
    status: str = ""
    lead_unit: Any = None
    co_units: Any = frozenset()
    handler_id: Any = None
    merged_into: Any = None
    reply_result: str = ""
    reply_text: str = ""
    invalid_reason: str = ""
    return_count: int = 0
    rework_count: int = 0
    extension_count: int = 0
    alert: str = "none"
    alert_stage: str = ""
    received_at: Any = None
    dispatched_at: Any = None
    claimed_at: Any = None
    replied_at: Any = None
    visited_at: Any = None
    closed_at: Any = None
    ended_at: Any = None
    claim_due: Any = None
    reply_due: Any = None
    visit_due: Any = None
    alert_due: Any = None
    # Each return-visit call, oldest first: (reached, resolved, satisfaction, authentic).
    visits: list[tuple[Any, ...]] = field(default_factory=list)


def _moment(payload: dict[str, Any], key: str) -> Any:
    """A deadline from the payload: UNKNOWN when an older event did not carry it."""
    if key not in payload:
        return UNKNOWN
    value = payload[key]
    if value in (None, ""):
        return None
    try:
        return dt.datetime.fromisoformat(str(value))
    except ValueError:
        return UNKNOWN


def _apply(s: State, e: AppealEvent) -> None:
    p = e.payload if isinstance(e.payload, dict) else {}
    action, to = e.action, e.to_status
    if to:
        if to == Status.IN_PROGRESS and e.from_status == Status.DISPATCHED:
            s.claimed_at = e.at
        stamp = STAMPS.get(Status(to)) if to in Status.values else None
        if stamp:
            setattr(s, stamp, e.at)
        if to in ENDS:
            s.ended_at = e.at
        s.status = to
    if action == "register":
        s.received_at = e.at
    elif action == "dispatch":
        s.lead_unit = p.get("unit", UNKNOWN) or None
        s.co_units = frozenset(p["co_units"]) if "co_units" in p else UNKNOWN
        s.handler_id = None
        s.claim_due, s.reply_due = _moment(p, "claim_due"), _moment(p, "reply_due")
        s.visit_due = None
    elif action == "claim":
        s.handler_id = UNKNOWN if p.get("imported") else e.actor_id
    elif action == "delegate":  # a township hands it down (下派), or takes it back
        s.lead_unit = p.get("unit", UNKNOWN) or None
        s.handler_id = None
        s.claim_due = _moment(p, "claim_due")
    elif action == "whistle":  # the named departments become co-units
        if isinstance(s.co_units, frozenset) and isinstance(p.get("units"), list):
            s.co_units = s.co_units | frozenset(p["units"])
        else:
            s.co_units = UNKNOWN
    elif action == "resolve_on_spot":  # 就地解决: a reply by the grid worker
        if e.from_status == Status.DISPATCHED:
            s.claimed_at = e.at
        s.handler_id = e.actor_id
        s.reply_result = p.get("result", UNKNOWN)
        s.reply_text = e.note
        s.visit_due = _moment(p, "visit_due")
    elif action == "return":
        s.lead_unit, s.co_units, s.handler_id = None, frozenset(), None
        s.claim_due = s.reply_due = None
        s.return_count += 1
    elif action in ("reply", "answer"):
        s.reply_result = p.get("result") or (ReplyResult.RESOLVED if action == "answer" else "")
        s.reply_text = e.note
        s.visit_due = _moment(p, "visit_due")
    elif action == "rework":
        s.rework_count += 1
        s.reply_result = ""
        s.visit_due = None
        s.reply_due = None if to == Status.RECEIVED else _moment(p, "reply_due")
    elif action == "merge":
        s.merged_into = p.get("into", UNKNOWN)
    elif action == "invalidate":
        s.invalid_reason = e.note
    elif action == "extension_approved":
        s.reply_due = _moment(p, "to")
        s.extension_count = int(p.get("extensions", s.extension_count + 1))
        if isinstance(p.get("alert"), dict):
            s.alert, s.alert_stage, s.alert_due = "none", "", None
    elif action == "deadline_recomputed":  # the working calendar changed (deadlines.changes)
        clocks = p.get("clocks")
        for stage, moved in clocks.items() if isinstance(clocks, dict) else ():
            if stage in ("claim", "reply", "visit") and isinstance(moved, dict):
                setattr(s, f"{stage}_due", _moment(moved, "to"))
        if isinstance(p.get("alert"), dict):
            s.alert, s.alert_stage, s.alert_due = "none", "", None
    elif action in ("visit", "visit_attempt"):
        if p.get("reached"):
            outcome = (True, p.get("resolved"), p.get("satisfaction") or "", p.get("authentic"))
            s.visits.append(outcome)
        else:
            s.visits.append(UNREACHED)
    elif action.startswith("alert_"):
        s.alert = str(p.get("to", UNKNOWN))
        if s.alert == "none":
            s.alert_stage, s.alert_due = "", None
        else:
            s.alert_stage, s.alert_due = str(p.get("stage", "")), _moment(p, "due")


def replay(events: Iterable[AppealEvent]) -> State:
    """The state columns of an appeal as its events, oldest first, say they must be."""
    state = State()
    for event in events:
        _apply(state, event)
    return state


def _same(want: Any, have: Any) -> bool:
    if want is UNKNOWN:
        return True
    if isinstance(want, dt.datetime) and isinstance(have, dt.datetime):
        return abs(want - have) <= SLACK
    return bool(want == have)


def _show(value: Any) -> str:
    if isinstance(value, frozenset | set):
        return "[" + ", ".join(sorted(value)) + "]"
    if isinstance(value, dt.datetime):
        return timezone.localtime(value).isoformat()
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "…'"


def differences(state: State, row: dict[str, Any]) -> list[str]:
    """Each state column of ``row`` its events do not explain: 'column is X, events say Y'."""
    have = {
        **row,
        "lead_unit": row.get("lead_unit__code"),
        "merged_into": row.get("merged_into__number"),
        "co_units": frozenset(row.get("co_units", ())),
    }
    out = []
    for column in COMPARED:
        want = getattr(state, column)
        if not _same(want, have[column]):
            out.append(f"{column} is {_show(have[column])}, its events say {_show(want)}")
    rows = [tuple(v) for v in row.get("visits", ())]
    if rows != state.visits:
        if len(rows) != len(state.visits):
            out.append(f"{len(rows)} visit rows, its events say {len(state.visits)}")
        else:
            i = next(i for i, (a, b) in enumerate(zip(rows, state.visits, strict=True)) if a != b)
            out.append(
                f"visit {i + 1} is {_visit(rows[i])}, its events say {_visit(state.visits[i])}"
            )
    return out


def _visit(outcome: tuple[Any, ...]) -> str:
    reached, resolved, satisfaction, authentic = outcome
    if not reached:
        return "'unreached'"
    return f"'{satisfaction}' (resolved={resolved}, authentic={authentic})"


# ----- verify ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Tampering:
    appeal_number: str
    seq: int | None
    event_id: int | None
    reason: str
    anchor_day: dt.date | None = None


@dataclass
class _AnchorCheck:
    anchor: LedgerAnchor
    heads: Any = field(default_factory=hashlib.sha256)
    count: int = 0


def _heads_line(appeal_id: int, count: int, head: str) -> bytes:
    return f"{appeal_id}:{count}:{head}\n".encode("ascii")


def verify(batch_size: int = 500, anchors: int | None = ANCHORS_RECOMPUTED) -> Iterator[Tampering]:
    """Yield every problem, in ledger order (appeal, then sequence), then the anchors'.

    ``anchors``: how many of the latest anchors to recompute from the events (None: all);
    the links between all anchors are checked either way. Per chunk of ``batch_size`` appeals,
    one query each for the appeals, their events, their co-units and their return visits.
    """
    key = audit_key()
    keyed_since: int | None = None
    if key:
        keyed_since = AppealEvent.objects.filter(hash_scheme=HMAC).aggregate(m=Min("id"))["m"]
    elif AppealEvent.objects.filter(hash_scheme=HMAC).exists():
        yield Tampering(
            "",
            None,
            None,
            "events are sealed with a key (hmac-sha256) but AUDIT_KEY is not set: "
            "cannot verify them",
        )
        return
    every = list(LedgerAnchor.objects.order_by("day"))
    recompute = every if anchors is None else every[len(every) - anchors :] if anchors else []
    checks = [_AnchorCheck(a) for a in recompute]

    appeals = Appeal.objects.order_by("id").values(*ROW_FIELDS)
    co_table = Appeal.co_units.through
    last_id = 0
    while True:
        chunk = list(appeals.filter(id__gt=last_id)[:batch_size])
        if not chunk:
            break
        last_id = chunk[-1]["id"]
        ids = [row["id"] for row in chunk]
        by_appeal: dict[int, list[AppealEvent]] = {i: [] for i in ids}
        for event in AppealEvent.objects.filter(appeal_id__in=ids).order_by("appeal_id", "seq"):
            by_appeal[event.appeal_id].append(event)
        co: dict[int, list[str]] = {i: [] for i in ids}
        for appeal_id, code in co_table.objects.filter(appeal_id__in=ids).values_list(
            "appeal_id", "unit__code"
        ):
            co[appeal_id].append(code)
        visits: dict[int, list[tuple[Any, ...]]] = {i: [] for i in ids}
        for appeal_id, *outcome in (
            Visit.objects.filter(appeal_id__in=ids)
            .order_by("appeal_id", "at", "id")
            .values_list("appeal_id", "reached", "resolved", "satisfaction", "authentic")
        ):
            visits[appeal_id].append(tuple(outcome))
        for row in chunk:
            row["co_units"] = co[row["id"]]
            row["visits"] = visits[row["id"]]
            events = by_appeal[row["id"]]
            yield from _verify_appeal(row, events, key, keyed_since)
            _feed(checks, row["id"], events)
    yield from _verify_anchors(every, checks, key, keyed_since)


def _verify_appeal(
    row: dict[str, Any], events: list[AppealEvent], key: bytes, keyed_since: int | None
) -> Iterator[Tampering]:
    number = row["number"] or f"#{row['id']}"
    prev = ""
    for expected_seq, event in enumerate(events, start=1):
        if event.seq != expected_seq:
            yield Tampering(number, event.seq, event.id, f"expected event {expected_seq} here")
            return
        if event.prev_hash != prev:
            yield Tampering(number, event.seq, event.id, "link to the previous event is broken")
            return
        if event.hash_scheme not in SCHEMES:
            yield Tampering(
                number, event.seq, event.id, f"unknown hash scheme {event.hash_scheme!r}"
            )
            return
        if event.hash_scheme == PLAIN and keyed_since is not None and event.id > keyed_since:
            yield Tampering(
                number,
                event.seq,
                event.id,
                "sealed with plain SHA-256 after keyed hashing began (a recomputed chain?)",
            )
            return
        if digest_of(event, key) != event.hash:
            yield Tampering(number, event.seq, event.id, "content does not match its hash")
            return
        prev = event.hash
    if len(events) != row["event_count"] or prev != row["last_event_hash"]:
        yield Tampering(number, None, None, "events are missing or were added after the head")
        return
    diffs = differences(replay(events), row)
    if diffs:
        yield Tampering(
            number, None, None, "the appeal row differs from its events: " + "; ".join(diffs)
        )


def _feed(checks: list[_AnchorCheck], appeal_id: int, events: list[AppealEvent]) -> None:
    """Add this appeal's chain head, as each anchor saw it, to that anchor's recomputation."""
    if not checks or not events:
        return
    ids = [e.id for e in events]
    for check in checks:
        if appeal_id > check.anchor.max_appeal_id:
            continue
        n = bisect.bisect_right(ids, check.anchor.max_event_id)
        if n:
            check.heads.update(_heads_line(appeal_id, n, events[n - 1].hash))
            check.count += 1


def anchor_digest(anchor: LedgerAnchor, key: bytes) -> str:
    body = json.dumps(
        [
            anchor.day.isoformat(),
            anchor.appeal_count,
            anchor.max_appeal_id,
            anchor.max_event_id,
            anchor.heads_digest,
            anchor.prev_digest,
        ],
        separators=(",", ":"),
    )
    return _mac(body.encode("utf-8"), anchor.hash_scheme, key)


def _verify_anchors(
    every: list[LedgerAnchor], checks: list[_AnchorCheck], key: bytes, keyed_since: int | None
) -> Iterator[Tampering]:
    prev = ""
    keyed = False
    for anchor in every:
        day = anchor.day
        if anchor.prev_digest != prev:
            yield Tampering("", None, None, "link to the previous anchor is broken", day)
        elif anchor.hash_scheme not in SCHEMES:
            yield Tampering("", None, None, f"unknown hash scheme {anchor.hash_scheme!r}", day)
        elif (
            anchor.hash_scheme == PLAIN
            and key
            and (keyed or (keyed_since is not None and anchor.max_event_id >= keyed_since))
        ):
            yield Tampering(
                "", None, None, "sealed with plain SHA-256 after keyed hashing began", day
            )
        elif anchor_digest(anchor, key) != anchor.digest:
            yield Tampering("", None, None, "the anchor does not match its digest", day)
        keyed = keyed or anchor.hash_scheme == HMAC
        prev = anchor.digest
    for check in checks:
        a = check.anchor
        if check.count != a.appeal_count:
            yield Tampering(
                "",
                None,
                None,
                f"anchored {a.appeal_count} appeals (ids up to {a.max_appeal_id}); "
                f"the ledger now holds {check.count} of them",
                a.day,
            )
        elif check.heads.hexdigest() != a.heads_digest:
            yield Tampering(
                "",
                None,
                None,
                "chain heads differ from the anchored ones (a chain was rewritten)",
                a.day,
            )


# ----- anchors -----------------------------------------------------------------------------------


def anchor_write(*, now: dt.datetime | None = None) -> LedgerAnchor | None:
    """Seal today's (Asia/Shanghai) anchor over every chain head; None if it exists already.

    Idempotent and safe with several sweepers: the day is unique. On PostgreSQL the events
    table is locked in SHARE mode for the read, so every event up to the anchored id has
    committed and none is written meanwhile (a fraction of a second, once a day).
    """
    now = now or clock.now()
    day = timezone.localtime(now).date()
    if LedgerAnchor.objects.filter(day=day).exists():
        return None
    key = audit_key()
    try:
        with transaction.atomic():
            if connection.vendor == "postgresql":
                with connection.cursor() as cursor:
                    cursor.execute(f"LOCK TABLE {AppealEvent._meta.db_table} IN SHARE MODE")
            max_event_id = AppealEvent.objects.aggregate(m=Max("id"))["m"] or 0
            heads = hashlib.sha256()
            count = max_appeal_id = 0
            rows = (
                Appeal.objects.filter(event_count__gt=0)
                .order_by("id")
                .values_list("id", "event_count", "last_event_hash")
            )
            for appeal_id, n, head in rows.iterator(chunk_size=2000):
                heads.update(_heads_line(appeal_id, n, head))
                count += 1
                max_appeal_id = appeal_id
            prev = LedgerAnchor.objects.order_by("-day").values_list("digest", flat=True).first()
            anchor = LedgerAnchor(
                day=day,
                made_at=now,
                appeal_count=count,
                max_appeal_id=max_appeal_id,
                max_event_id=max_event_id,
                heads_digest=heads.hexdigest(),
                prev_digest=prev or "",
                hash_scheme=HMAC if key else PLAIN,
            )
            anchor.digest = anchor_digest(anchor, key)
            anchor.save(force_insert=True)
    except IntegrityError:
        return None  # another sweeper anchored the day first
    return anchor


def latest_anchor() -> LedgerAnchor | None:
    return LedgerAnchor.objects.order_by("-day").first()
