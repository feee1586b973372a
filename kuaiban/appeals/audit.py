"""The tamper-evident chain of appeal events.

Each event's hash is SHA-256 over a canonical JSON of its content and the previous event's hash;
the appeal row keeps the head (the last hash) and the event count, so a deleted or appended row
is caught as well as an edited one.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from kuaiban.appeals.models import Appeal, AppealEvent


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
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


def digest_of(event: AppealEvent) -> str:
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
    )


@dataclass(frozen=True)
class Tampering:
    appeal_number: str
    seq: int | None
    event_id: int | None
    reason: str


def verify(batch_size: int = 2000) -> Iterator[Tampering]:
    """Yield every broken link, in ledger order (appeal, then sequence)."""
    appeals = Appeal.objects.order_by("id").values_list(
        "id", "number", "last_event_hash", "event_count"
    )
    last_id = 0
    while True:
        chunk = list(appeals.filter(id__gt=last_id)[:batch_size])
        if not chunk:
            return
        last_id = chunk[-1][0]
        by_appeal: dict[int, list[AppealEvent]] = {row[0]: [] for row in chunk}
        for event in AppealEvent.objects.filter(appeal_id__in=by_appeal).order_by(
            "appeal_id", "seq"
        ):
            by_appeal[event.appeal_id].append(event)
        for appeal_id, number, head, count in chunk:
            yield from _verify_appeal(number or f"#{appeal_id}", by_appeal[appeal_id], head, count)


def _verify_appeal(
    number: str, events: list[AppealEvent], head: str, count: int
) -> Iterator[Tampering]:
    prev = ""
    for expected_seq, event in enumerate(events, start=1):
        if event.seq != expected_seq:
            yield Tampering(number, event.seq, event.id, f"expected event {expected_seq} here")
            return
        if event.prev_hash != prev:
            yield Tampering(number, event.seq, event.id, "link to the previous event is broken")
            return
        if digest_of(event) != event.hash:
            yield Tampering(number, event.seq, event.id, "content does not match its hash")
            return
        prev = event.hash
    if len(events) != count or prev != head:
        yield Tampering(number, None, None, "events are missing or were added after the head")
