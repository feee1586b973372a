"""`kuaiban audit verify` and `kuaiban audit anchor`: every tamper a rogue DBA might try.

Each test builds a small real ledger through the services, tampers with the database behind the
application's back (a queryset ``update``/``delete`` or raw SQL), and runs the CLI as an
auditor would: it must exit 1 and name the appeal (or anchor) and what differs.
"""

from __future__ import annotations

import datetime as dt
import io
import json
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client

from kuaiban.appeals import audit, services
from kuaiban.appeals.models import Appeal, AppealEvent, LedgerAnchor, Visit
from kuaiban.core import clock
from kuaiban.org.demo import Directory
from kuaiban.org.models import Unit

pytestmark = pytest.mark.django_db

REPLY = "经现场核实，已协调供热公司更换阀门，室温恢复到二十度以上，并电话告知诉求人。"
KEY = "县政务服务中心-审计密钥-2026"


def run(*args: str) -> tuple[int, str]:
    out = io.StringIO()
    try:
        call_command(*args, stdout=out)
    except SystemExit as exc:
        return int(exc.code or 0), out.getvalue()
    return 0, out.getvalue()


def lifecycle(make_appeal: Any, county: Directory, **overrides: Any) -> Appeal:
    """Register → dispatch (with a co-unit) → claim → the co-unit's part → reply → visit →
    close."""
    appeal = make_appeal(**overrides)
    users = county.users
    n = appeal.number
    services.appeal_dispatch(actor=users["operator"], number=n, unit="zjj", co_units=["cgj"])
    services.appeal_claim(actor=users["handler-zjj"], number=n)
    services.appeal_assist(
        actor=users["handler-cgj"], number=n, result="resolved", text="已配合清理占道堆放物。"
    )
    services.appeal_reply(actor=users["handler-zjj"], number=n, result="resolved", text=REPLY)
    services.appeal_visit(
        actor=users["supervisor"],
        number=n,
        data=services.VisitInput(
            reached=True, resolved=True, satisfaction="satisfied", authentic=True, note="满意"
        ),
    )
    services.appeal_close(actor=users["supervisor"], number=n, note="办结")
    return Appeal.objects.get(pk=appeal.pk)


@pytest.fixture
def ledger(make_appeal: Any, county: Directory) -> dict[str, Appeal]:
    users = county.users
    closed = lifecycle(make_appeal, county)
    working = make_appeal(title="路灯不亮", content="幸福路与建设街交叉口的路灯连续三晚不亮。")
    services.appeal_dispatch(actor=users["operator"], number=working.number, unit="cgj")
    services.appeal_claim(actor=users["handler-cgj"], number=working.number)
    fresh = make_appeal(title="噪音扰民", content="夜间工地施工噪音很大，影响休息。")
    return {
        "closed": closed,
        "working": Appeal.objects.get(pk=working.pk),
        "fresh": Appeal.objects.get(pk=fresh.pk),
    }


def assert_clean() -> str:
    code, out = run("audit", "verify")
    assert code == 0, out
    assert out.startswith("OK: every appeal's event chain verifies")
    return out


def assert_caught(*needles: str) -> str:
    code, out = run("audit", "verify")
    assert code == 1, out
    assert out.startswith("TAMPERED: ")
    for needle in needles:
        assert needle in out, out
    return out


# ----- the appeal row must be what its events say --------------------------------------------


def test_a_real_ledger_verifies_clean(ledger: dict[str, Appeal]) -> None:
    assert_clean()
    closed = ledger["closed"]
    # The replay is exact for the new payloads: deadlines are in the events now.
    events = list(closed.events.order_by("seq"))
    state = audit.replay(events)
    assert state.status == "closed" and state.lead_unit == "zjj"
    assert state.co_units == frozenset({"cgj"}) and state.reply_text == REPLY
    assert state.claim_due == closed.claim_due and state.visit_due == closed.visit_due
    assert events[1].payload["reply_due"] is not None


def test_status_updated_in_the_row_is_caught(ledger: dict[str, Appeal]) -> None:
    working = ledger["working"]
    Appeal.objects.filter(pk=working.pk).update(status="closed")
    assert_caught(f"appeal {working.number}, chain head", "status is 'closed'", "'in_progress'")


def test_reply_text_rewritten_in_the_row_is_caught(ledger: dict[str, Appeal]) -> None:
    closed = ledger["closed"]
    Appeal.objects.filter(pk=closed.pk).update(reply_text="已解决。")
    assert_caught(f"appeal {closed.number}", "reply_text is '已解决。'")


def test_lead_unit_moved_in_the_row_is_caught(ledger: dict[str, Appeal]) -> None:
    working = ledger["working"]
    Appeal.objects.filter(pk=working.pk).update(lead_unit=Unit.objects.get(code="zjj"))
    assert_caught(f"appeal {working.number}", "lead_unit is 'zjj', its events say 'cgj'")


def test_co_unit_added_behind_the_back_is_caught(ledger: dict[str, Appeal]) -> None:
    working = ledger["working"]
    working.co_units.add(Unit.objects.get(code="zjj"))
    assert_caught(f"appeal {working.number}", "co_units is [zjj], its events say []")


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("closed_at", dt.datetime(2020, 1, 1, tzinfo=dt.UTC)),
        ("reply_due", dt.datetime(2031, 1, 1, tzinfo=dt.UTC)),
        ("handler", None),
        ("return_count", 2),
        ("alert", "red"),
    ],
)
def test_other_state_columns_are_proven_too(
    ledger: dict[str, Appeal], column: str, value: Any
) -> None:
    closed = ledger["closed"]
    Appeal.objects.filter(pk=closed.pk).update(**{column: value})
    shown = "handler_id" if column == "handler" else column
    assert_caught(f"appeal {closed.number}", f"{shown} is ")


def test_a_visit_rating_rewritten_is_caught(ledger: dict[str, Appeal]) -> None:
    closed = ledger["closed"]
    Visit.objects.filter(appeal=closed).update(satisfaction="dissatisfied")
    assert_caught(
        f"appeal {closed.number}", "visit 1 is 'dissatisfied'", "its events say 'satisfied'"
    )


def test_a_visit_row_deleted_is_caught(ledger: dict[str, Appeal]) -> None:
    closed = ledger["closed"]
    Visit.objects.filter(appeal=closed).delete()
    assert_caught(f"appeal {closed.number}", "0 visit rows, its events say 1")


def test_every_difference_is_named_with_all(ledger: dict[str, Appeal]) -> None:
    Appeal.objects.filter(pk=ledger["working"].pk).update(status="replied")
    Appeal.objects.filter(pk=ledger["fresh"].pk).update(status="dispatched")
    code, out = run("audit", "verify", "--all")
    assert code == 1
    assert ledger["working"].number in out and ledger["fresh"].number in out
    assert ledger["closed"].number not in out


def test_old_events_without_the_new_payload_still_verify(ledger: dict[str, Appeal]) -> None:
    """A chain written before deadlines were in the payload: those columns go unchecked."""
    closed = ledger["closed"]
    prev = ""
    for event in closed.events.order_by("seq"):
        for key in ("claim_due", "reply_due", "visit_due"):
            event.payload.pop(key, None)
        event.prev_hash = prev
        event.hash = audit.digest_of(event)
        AppealEvent.objects.filter(pk=event.pk).update(
            payload=event.payload, prev_hash=prev, hash=event.hash
        )
        prev = event.hash
    Appeal.objects.filter(pk=closed.pk).update(last_event_hash=prev)
    assert_clean()
    # ... but the rest of the row is still proven.
    Appeal.objects.filter(pk=closed.pk).update(status="replied")
    assert_caught(closed.number, "status is 'replied'")


# ----- whole appeals that vanish: the anchors -------------------------------------------------


def purge(appeal: Appeal) -> None:
    """Delete an appeal with everything that points at it, leaving no dangling row."""
    Visit.objects.filter(appeal=appeal).delete()
    AppealEvent.objects.filter(appeal=appeal).delete()
    appeal.co_units.clear()
    from kuaiban.supervision.models import Notification

    Notification.objects.filter(appeal=appeal).delete()
    Appeal.objects.filter(pk=appeal.pk).delete()


def test_an_appeal_deleted_with_all_its_events_is_caught_by_the_anchor(
    ledger: dict[str, Appeal],
) -> None:
    code, out = run("audit", "anchor")
    anchor = LedgerAnchor.objects.get()
    assert code == 0 and f"Anchored 3 appeals on {anchor.day}: {anchor.digest}" in out
    assert anchor.digest in assert_clean()
    purge(ledger["working"])
    assert_caught(f"ledger anchor of {anchor.day}", "anchored 3 appeals", "holds 2 of them")


def test_appeals_written_after_the_anchor_do_not_disturb_it(
    ledger: dict[str, Appeal], make_appeal: Any, county: Directory
) -> None:
    audit.anchor_write()
    later = make_appeal(title="占道经营", content="菜市场门口有人长期占道摆摊。")
    services.appeal_dispatch(actor=county.users["operator"], number=later.number, unit="cgj")
    services.appeal_reply(
        actor=county.users["handler-cgj"],
        number=ledger["working"].number,
        result="resolved",
        text="已更换灯泡，路灯恢复照明。",
    )
    assert_clean()


def test_a_second_anchor_the_same_day_is_a_no_op(ledger: dict[str, Appeal]) -> None:
    first = audit.anchor_write()
    assert first is not None and audit.anchor_write() is None
    code, out = run("audit", "anchor")
    assert code == 0 and f"exists already: {first.digest}" in out
    assert LedgerAnchor.objects.count() == 1


def test_anchors_chain_day_to_day_and_a_rewritten_anchor_is_caught(
    ledger: dict[str, Appeal],
) -> None:
    monday = dt.datetime(2026, 11, 30, 9, 0, tzinfo=dt.UTC)
    first = audit.anchor_write(now=monday)
    second = audit.anchor_write(now=monday + dt.timedelta(days=1))
    assert first and second and second.prev_digest == first.digest
    assert_clean()
    # The auditor deletes an appeal and re-seals the latest anchor without it (no key).
    purge(ledger["fresh"])
    assert_caught(f"ledger anchor of {first.day}", "holds 2 of them")
    LedgerAnchor.objects.filter(pk=first.pk).update(appeal_count=2)
    assert_caught(f"ledger anchor of {first.day}", "does not match its digest")


def test_a_chain_rewritten_to_the_same_length_is_caught_by_the_anchor(
    ledger: dict[str, Appeal],
) -> None:
    """Recompute a whole chain consistently (plain SHA-256, no key): only the anchor knows."""
    audit.anchor_write()
    closed = ledger["closed"]
    recompute_chain(
        closed, edit=lambda e: setattr(e, "note", "满意（改）") if e.action == "visit" else None
    )
    assert_caught("ledger anchor of", "chain heads differ")


def test_the_sweep_anchors_once_a_day(ledger: dict[str, Appeal]) -> None:
    from kuaiban.supervision.services.sweep import sweep

    # Noon in Beijing: two sweeps a minute apart must fall on the same local day (a run just
    # before midnight would otherwise anchor twice, legitimately).
    beijing = dt.timezone(dt.timedelta(hours=8))
    now = clock.now().astimezone(beijing).replace(hour=12, minute=0) + dt.timedelta(days=1)
    sweep(now=now, mail=False)
    sweep(now=now + dt.timedelta(minutes=1), mail=False)
    assert LedgerAnchor.objects.count() == 1
    sweep(now=now + dt.timedelta(days=1), mail=False)
    assert LedgerAnchor.objects.count() == 2
    assert_clean()


def test_the_bulletin_prints_the_latest_anchor(ledger: dict[str, Appeal]) -> None:
    anchor = audit.anchor_write()
    assert anchor is not None
    client = Client()
    from kuaiban.conftest import user

    client.force_login(user("supervisor"))
    local = anchor.made_at.astimezone(dt.timezone(dt.timedelta(hours=8)))
    page = client.get("/supervision/bulletin/", {"month": f"{local:%Y-%m}"})
    assert page.status_code == 200
    text = page.content.decode()
    assert "台账锚点" in text and anchor.digest in text


# ----- keyed hashes ---------------------------------------------------------------------------


def recompute_chain(appeal: Appeal, *, edit: Any, scheme: str = "", key: bytes = b"") -> None:
    """What a tamperer without the key can do: edit, then re-hash the chain consistently."""
    prev = ""
    for event in appeal.events.order_by("seq"):
        edit(event)
        event.prev_hash = prev
        event.hash_scheme = scheme
        event.hash = audit.digest_of(event, key)
        AppealEvent.objects.filter(pk=event.pk).update(
            note=event.note, prev_hash=prev, hash=event.hash, hash_scheme=scheme
        )
        prev = event.hash
    Appeal.objects.filter(pk=appeal.pk).update(last_event_hash=prev)


def note_of_visit(event: AppealEvent) -> None:
    if event.action == "visit":
        event.note = "满意（其实没有回访）"


def test_without_a_key_a_recomputed_chain_passes_the_chain_check(
    ledger: dict[str, Appeal],
) -> None:
    """The known limit of plain hashes, which is why AUDIT_KEY and the anchors exist."""
    recompute_chain(ledger["closed"], edit=note_of_visit)
    assert_clean()


def test_with_a_key_events_are_hmac_sealed(ledger: dict[str, Appeal], settings: Any) -> None:
    settings.AUDIT_KEY = KEY
    services.appeal_dispatch(
        actor=user_named("operator"), number=ledger["fresh"].number, unit="cgj"
    )
    event = AppealEvent.objects.order_by("-id").first()
    assert event is not None and event.hash_scheme == "hmac-sha256"
    assert event.hash != audit.digest_of(event, b"another key")
    assert_clean()  # old plain events keep verifying next to keyed ones


def user_named(username: str) -> Any:
    from kuaiban.conftest import user

    return user(username)


@pytest.fixture
def keyed(make_appeal: Any, county: Directory, settings: Any) -> dict[str, Appeal]:
    settings.AUDIT_KEY = KEY
    first = lifecycle(make_appeal, county)
    second = lifecycle(
        make_appeal, county, title="井盖缺失", content="人民路中段井盖缺失，夜间危险。"
    )
    assert set(AppealEvent.objects.values_list("hash_scheme", flat=True)) == {"hmac-sha256"}
    return {"first": first, "second": second}


def test_with_a_key_a_note_edited_and_rehashed_in_plain_is_caught(
    keyed: dict[str, Appeal],
) -> None:
    assert_clean()
    victim = keyed["second"]
    recompute_chain(victim, edit=note_of_visit)
    assert_caught(f"appeal {victim.number}", "plain SHA-256 after keyed hashing began")


def test_with_a_key_a_chain_recomputed_with_a_guessed_key_is_caught(
    keyed: dict[str, Appeal],
) -> None:
    victim = keyed["first"]
    recompute_chain(victim, edit=note_of_visit, scheme="hmac-sha256", key=b"guessed")
    first = victim.events.get(seq=1)
    # Every re-sealed event fails; the first is named.
    assert_caught(f"appeal {victim.number}, event 1 (id {first.pk})", "does not match its hash")


def test_a_keyed_ledger_does_not_verify_without_the_key(
    keyed: dict[str, Appeal], settings: Any
) -> None:
    settings.AUDIT_KEY = ""
    assert_caught("AUDIT_KEY is not set")


def test_a_keyed_anchor_resists_being_resealed_without_the_key(
    keyed: dict[str, Appeal],
) -> None:
    anchor = audit.anchor_write()
    assert anchor is not None and anchor.hash_scheme == "hmac-sha256"
    purge(keyed["first"])
    # The tamperer recomputes the heads and seals the anchor in plain SHA-256.
    heads = b"".join(
        audit._heads_line(pk, n, head)  # the tamperer knows the format
        for pk, n, head in Appeal.objects.order_by("id").values_list(
            "id", "event_count", "last_event_hash"
        )
    )
    import hashlib

    anchor.heads_digest = hashlib.sha256(heads).hexdigest()
    anchor.appeal_count = 1
    anchor.hash_scheme = ""
    anchor.digest = audit.anchor_digest(anchor, b"")
    anchor.save()
    assert_caught(f"ledger anchor of {anchor.day}", "plain SHA-256 after keyed hashing began")
    LedgerAnchor.objects.filter(pk=anchor.pk).update(hash_scheme="hmac-sha256")
    assert_caught(f"ledger anchor of {anchor.day}", "does not match its digest")


# ----- the demo ledger, and efficiency ---------------------------------------------------------


def test_the_demo_ledger_verifies_clean_and_anchors(db: None) -> None:
    code, out = run("demo", "--appeals", "50", "--seed", "3")
    assert code == 0, out
    assert_clean()
    assert run("audit", "anchor")[0] == 0
    assert_clean()
    # And the first tamper anywhere in it is named.
    victim = Appeal.objects.filter(status="closed").order_by("id").first()
    assert victim is not None
    Appeal.objects.filter(pk=victim.pk).update(reply_result="unresolved")
    assert_caught(victim.number, "reply_result is 'unresolved'")


def test_verify_reads_a_fixed_number_of_queries_per_chunk(
    ledger: dict[str, Appeal], django_assert_max_num_queries: Any
) -> None:
    audit.anchor_write()
    with django_assert_max_num_queries(11):
        # key check, anchors; per chunk of two: appeals, events, co-units, visits; a last empty
        # read of appeals.
        assert list(audit.verify(batch_size=2)) == []


def test_verify_rejects_a_bad_anchors_option(db: None) -> None:
    out = io.StringIO()
    err = io.StringIO()
    with pytest.raises(SystemExit) as exc:
        call_command("audit", "verify", "--anchors", "some", stdout=out, stderr=err)
    assert exc.value.code == 2 and "--anchors" in err.getvalue()


def test_payload_is_canonical_json(ledger: dict[str, Appeal]) -> None:
    """Deadlines in the payload are ISO strings the replay can read back, not datetimes."""
    dispatch = ledger["working"].events.get(action="dispatch")
    json.dumps(dispatch.payload)
    assert dt.datetime.fromisoformat(dispatch.payload["claim_due"]) == ledger["working"].claim_due
