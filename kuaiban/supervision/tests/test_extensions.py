"""Extensions: a handler of the lead unit asks, a supervisor approves (the deadline moves) or
refuses; everyone else is refused, and bad input gets a clear 400."""

from __future__ import annotations

from typing import Any

import pytest

from kuaiban.appeals.models import Appeal, AppealEvent
from kuaiban.conftest import user
from kuaiban.core import clock
from kuaiban.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from kuaiban.org.models import User
from kuaiban.supervision.models import Extension, Notification
from kuaiban.supervision.services.extensions import extension_decide, extension_request
from kuaiban.supervision.services.sweep import sweep
from kuaiban.supervision.tests.conftest import Walk, actions, at

pytestmark = pytest.mark.django_db
REASON = "涉及供热管网改造，需协调热力公司停水停热施工，预计下周三前完成。"


def ask(appeal: Appeal, who: str = "handler-zjj", due: str = "2026-12-16") -> Extension:
    with clock.frozen(at(11, 24, 10)):
        return extension_request(
            actor=user(who), number=appeal.number or "", reason=REASON, proposed_due=due
        )


def decide(extension: Extension, who: str = "supervisor", **kwargs: Any) -> Extension:
    with clock.frozen(at(11, 24, 15)):
        return extension_decide(actor=user(who), extension_id=extension.pk, **kwargs)


def test_request_then_approve_moves_the_deadline(walk: Walk, people: dict[str, User]) -> None:
    appeal = walk("in_progress")
    assert appeal.reply_due == at(12, 7, 17, 30)
    extension = ask(appeal)
    assert extension.status == "pending"
    assert extension.current_due == at(12, 7, 17, 30)
    assert extension.proposed_due == at(12, 16, 17, 30)
    assert actions(appeal)[-1] == "extension_request"
    assert set(
        Notification.objects.filter(kind="extension_requested").values_list(
            "recipient__username", flat=True
        )
    ) == {"supervisor"}

    with clock.frozen(at(11, 24, 15)):
        decided = extension_decide(
            actor=user("supervisor"), extension_id=extension.pk, decision="approve", note="同意"
        )
    assert decided.status == "approved" and decided.granted_due == at(12, 16, 17, 30)
    appeal.refresh_from_db()
    assert appeal.reply_due == at(12, 16, 17, 30)
    assert appeal.extension_count == 1
    assert appeal.reply_warn_at is not None and appeal.reply_warn_at > at(12, 7, 17, 30)
    last = AppealEvent.objects.filter(appeal=appeal).order_by("seq").last()
    assert last is not None and last.action == "extension_approved"
    assert last.payload["from"] == at(12, 7, 17, 30).isoformat()
    assert last.payload["to"] == at(12, 16, 17, 30).isoformat()
    told = Notification.objects.filter(kind="extension_approved")
    assert set(told.values_list("recipient__username", flat=True)) == {"handler-zjj"}


def test_approval_clears_a_red_alert_and_the_new_deadline_is_watched(
    walk: Walk, people: dict[str, User]
) -> None:
    appeal = walk("in_progress")
    sweep(now=at(12, 8, 9))
    appeal.refresh_from_db()
    assert (appeal.alert, appeal.alert_stage) == ("red", "reply")
    with clock.frozen(at(12, 8, 10)):
        extension = extension_request(
            actor=user("handler-zjj"),
            number=appeal.number or "",
            reason=REASON,
            proposed_due="2026-12-10",
        )
        extension_decide(actor=user("supervisor"), extension_id=extension.pk, decision="approve")
    appeal.refresh_from_db()
    assert appeal.alert == "none"
    approved = AppealEvent.objects.filter(appeal=appeal, action="extension_approved").get()
    assert approved.payload["alert"] == {"from": "red", "to": "none"}
    # The new deadline gets its own warnings, once each.
    # 19.5 working hours to run: yellow when a quarter is left, Thursday 10 December 10:37:30.
    assert sweep(now=at(12, 10, 10, 30)).changes == 0
    assert sweep(now=at(12, 10, 10, 40)).yellow == 1
    assert sweep(now=at(12, 10, 17, 31)).red == 1
    assert actions(appeal).count("alert_red") == 2


def test_refusal_needs_a_reason_and_keeps_the_deadline(walk: Walk, people: dict[str, User]) -> None:
    appeal = walk("in_progress")
    extension = ask(appeal)
    with pytest.raises(ValidationFailed) as info:
        decide(extension, decision="refuse")
    assert info.value.errors[0].field == "note"
    decide(extension, decision="refuse", note="该事项不涉及施工，请按期答复。")
    appeal.refresh_from_db()
    assert appeal.reply_due == at(12, 7, 17, 30) and appeal.extension_count == 0
    assert actions(appeal)[-1] == "extension_refused"
    with pytest.raises(Conflict):
        decide(extension, decision="approve")


def test_only_the_lead_units_handler_may_ask(walk: Walk, people: dict[str, User]) -> None:
    appeal = walk("in_progress")
    events = AppealEvent.objects.count()
    with pytest.raises(NotFound):  # another unit's handler cannot even see it
        ask(appeal, who="handler-ybj")
    for who in ("supervisor", "operator"):
        with pytest.raises(PermissionDenied):
            ask(appeal, who=who)
    assert AppealEvent.objects.count() == events
    assert not Extension.objects.exists()


def test_a_handler_cannot_decide(walk: Walk, people: dict[str, User]) -> None:
    appeal = walk("in_progress")
    extension = ask(appeal)
    for who in ("handler-zjj", "zjj-clerk", "operator", "leader"):
        with pytest.raises(PermissionDenied):
            decide(extension, who=who, decision="approve")
    extension.refresh_from_db()
    assert extension.status == "pending"


@pytest.mark.parametrize(
    ("due", "field"),
    [
        ("", "proposed_due"),
        ("下周三", "proposed_due"),
        ("2026-12-01", "proposed_due"),  # not later than the current deadline (7 December)
        ("2027-06-30", "proposed_due"),  # more than 90 days ahead
    ],
)
def test_bad_proposals_are_refused(
    walk: Walk, people: dict[str, User], due: str, field: str
) -> None:
    appeal = walk("in_progress")
    with pytest.raises(ValidationFailed) as info:
        ask(appeal, due=due)
    assert info.value.errors[0].field == field
    assert not Extension.objects.exists()


def test_one_pending_request_and_a_limited_number_of_extensions(
    walk: Walk, people: dict[str, User]
) -> None:
    appeal = walk("in_progress")
    first = ask(appeal, due="2026-12-10")
    with pytest.raises(Conflict):
        ask(appeal, due="2026-12-11")
    decide(first, decision="approve")
    second = ask(appeal, due="2026-12-14")
    decide(second, decision="approve")
    with pytest.raises(Conflict) as info:
        ask(appeal, due="2026-12-18")
    assert info.value.code == "too_many_extensions"


def test_only_appeals_in_progress_get_more_time(walk: Walk, people: dict[str, User]) -> None:
    with pytest.raises(Conflict):
        ask(walk("dispatched"))
    with pytest.raises(Conflict):
        ask(walk("replied"))


# ----- over HTTP --------------------------------------------------------------------------------


def test_api_request_and_decide(walk: Walk, people: dict[str, User], api: Any) -> None:
    appeal = walk("in_progress")
    with clock.frozen(at(11, 24, 10)):
        r = api("handler-zjj").post(
            "/extensions",
            {"appeal": appeal.number, "reason": REASON, "proposed_due": "2026-12-16"},
        )
    assert r.status == 201, r.body
    assert r.body["status"] == "pending"
    assert r.body["proposed_due"] == "2026-12-16T17:30:00+08:00"
    ext_id = r.body["id"]

    r = api("handler-zjj").post(f"/extensions/{ext_id}/decision", {"decision": "approve"})
    assert r.status == 403 and r.body["detail"]
    r = api("handler-ybj").get(f"/extensions/{ext_id}")
    assert r.status == 404
    r = api("supervisor").get("/extensions", status="pending")
    assert [e["id"] for e in r.body["items"]] == [ext_id]
    with clock.frozen(at(11, 24, 15)):
        r = api("supervisor").post(
            f"/extensions/{ext_id}/decision", {"decision": "approve", "due": "2026-12-14"}
        )
    assert r.status == 200, r.body
    assert r.body["status"] == "approved" and r.body["granted_due"] == "2026-12-14T17:30:00+08:00"
    r = api("handler-zjj").get(f"/appeals/{appeal.number}")
    assert r.body["reply_due"] == "2026-12-14T17:30:00+08:00"
    assert [e["action"] for e in r.body["events"]][-2:] == [
        "extension_request",
        "extension_approved",
    ]


def test_api_denials_and_bad_input(walk: Walk, people: dict[str, User], api: Any) -> None:
    appeal = walk("in_progress")
    body = {"appeal": appeal.number, "reason": REASON, "proposed_due": "2026-12-16"}
    with clock.frozen(at(11, 24, 10)):
        assert api("handler-ybj").post("/extensions", body).status == 404
        assert api("supervisor").post("/extensions", body).status == 403
        assert api(None).post("/extensions", body).status == 401
        r = api("handler-zjj").post("/extensions", {**body, "reason": "  "})
        assert r.status == 400 and r.body["errors"][0]["field"] == "reason"
        r = api("handler-zjj").post("/extensions", {**body, "proposed_due": "明天"})
        assert r.status == 400 and r.body["errors"][0]["field"] == "proposed_due"
        r = api("handler-zjj").post("/extensions", {"appeal": appeal.number})
        assert r.status == 400 and {e["field"] for e in r.body["errors"]} >= {"reason"}
        r = api("handler-zjj").post("/extensions", {**body, "appeal": "KB20990101-999999"})
        assert r.status == 404
    r = api("supervisor").post("/extensions/999999/decision", {"decision": "approve"})
    assert r.status == 404
    assert not Extension.objects.exists()
    with clock.frozen(at(11, 24, 10)):
        ext_id = api("handler-zjj").post("/extensions", body).body["id"]
    r = api("supervisor").post(f"/extensions/{ext_id}/decision", {"decision": "maybe"})
    assert r.status == 400 and r.body["errors"][0]["field"] == "decision"
    r = api("supervisor").post(f"/extensions/{ext_id}/decision", {"decision": "refuse"})
    assert r.status == 400 and r.body["errors"][0]["field"] == "note"
