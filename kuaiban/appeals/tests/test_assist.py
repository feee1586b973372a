"""Co-units act (协办): each co-unit named at dispatch answers its own part, under its own
deadline, and the lead replies once the parts are in (or says why not). Through the services,
the REST API and the appeal page, with the refusals that keep each unit to its own part."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from kuaiban.appeals import services
from kuaiban.appeals.models import (
    Appeal,
    AppealEvent,
    AssistPart,
    Attachment,
    PartStatus,
    Status,
)
from kuaiban.appeals.tests.test_attachments import photo
from kuaiban.appeals.tests.test_views import client_for, html, snapshot
from kuaiban.conftest import user
from kuaiban.core.errors import Conflict, NotFound, PermissionDenied
from kuaiban.deadlines import services as deadlines
from kuaiban.org.demo import Directory

pytestmark = pytest.mark.django_db

ROAD = "人民路从东门村到镇上这段路坑洼不平，路边还堆着建筑垃圾，下雨积水，已有电动车摔倒。"
OPINION = "我局已派执法队员清运路边建筑垃圾，并责令施工单位设置围挡，相关情况已反馈交通局。"
REPLY = "交通局已安排养护队修补路面，城管局已清运建筑垃圾，路面恢复通行。"


def dispatched(make_appeal: Any, *, co: tuple[str, ...] = ("cgj",), **fields: Any) -> Appeal:
    """An appeal about a road, led by 交通局 (jtj) with the given co-units, and claimed."""
    appeal = make_appeal(title="人民路路面坑洼", content=ROAD, **fields)
    services.appeal_dispatch(
        actor=user("operator"), number=appeal.number, unit="jtj", co_units=list(co)
    )
    services.appeal_claim(actor=user("handler-jtj"), number=appeal.number)
    return Appeal.objects.get(pk=appeal.pk)


def actions(appeal: Appeal) -> list[str]:
    return list(appeal.events.order_by("seq").values_list("action", flat=True))


# ----- services ---------------------------------------------------------------------------------


def test_dispatch_gives_each_co_unit_a_part_due_a_working_day_before_the_reply(
    make_appeal: Any,
) -> None:
    appeal = dispatched(make_appeal, co=("cgj", "sthj"))
    parts = list(appeal.parts.order_by("unit__code"))
    assert [(p.unit.code, p.status) for p in parts] == [("cgj", "open"), ("sthj", "open")]
    assert appeal.reply_due is not None
    cal = deadlines.work_calendar()
    want = cal.sub_working_days(appeal.reply_due, 1)
    assert all(p.due == want for p in parts)
    assert want < appeal.reply_due and cal.is_workday(want.astimezone(cal.tz).date())
    assert want.astimezone(cal.tz).time() == dt.time(17, 30)


def test_an_emergency_s_co_unit_shares_the_lead_s_deadline(make_appeal: Any) -> None:
    """Hours, not days: a working day before the reply would lie before the dispatch."""
    appeal = dispatched(make_appeal, urgency="emergency")
    part = appeal.parts.get()
    assert part.due == appeal.reply_due


def test_a_confidential_report_gives_co_units_no_part(make_appeal: Any) -> None:
    appeal = make_appeal(kind="report", title="举报非法排污", content="某厂夜间偷排污水到河道。")
    services.appeal_dispatch(
        actor=user("supervisor"), number=appeal.number, unit="sthj", co_units=["cgj"]
    )
    assert not appeal.parts.exists()


def test_the_co_unit_claims_then_answers_and_each_step_is_one_event(make_appeal: Any) -> None:
    appeal = dispatched(make_appeal)
    cgj = user("handler-cgj")
    services.appeal_assist_claim(actor=cgj, number=appeal.number)
    part = AssistPart.objects.get(appeal=appeal)
    assert (part.status, part.claimed_by, part.claimed_at is not None) == ("claimed", cgj, True)
    services.appeal_assist(actor=cgj, number=appeal.number, text=OPINION, result="resolved")
    part.refresh_from_db()
    assert (part.status, part.result, part.text, part.answered_by) == (
        "answered",
        "resolved",
        OPINION,
        cgj,
    )
    appeal.refresh_from_db()
    assert appeal.status == Status.IN_PROGRESS  # the lead still holds it
    assert actions(appeal) == ["register", "dispatch", "claim", "assist_claim", "assist"]
    claim_ev, assist_ev = appeal.events.order_by("seq")[3:]
    assert claim_ev.payload["unit"] == "cgj" and assist_ev.payload["unit"] == "cgj"
    assert assist_ev.payload["claimed"] is False and assist_ev.payload["on_time"] is True
    assert (assist_ev.from_status, assist_ev.to_status, assist_ev.note) == ("", "", OPINION)


def test_an_assist_on_an_unclaimed_part_claims_it_in_the_same_step(make_appeal: Any) -> None:
    appeal = dispatched(make_appeal)
    cgj = user("handler-cgj")
    services.appeal_assist(actor=cgj, number=appeal.number, text=OPINION, result="partly")
    part = AssistPart.objects.get(appeal=appeal)
    assert part.claimed_by == cgj and part.claimed_at == part.answered_at
    event = appeal.events.get(action="assist")
    assert event.payload["claimed"] is True
    assert actions(appeal)[-1] == "assist" and "assist_claim" not in actions(appeal)


def test_the_co_unit_may_answer_while_the_lead_has_not_claimed_yet(make_appeal: Any) -> None:
    appeal = make_appeal(content=ROAD)
    services.appeal_dispatch(
        actor=user("operator"), number=appeal.number, unit="jtj", co_units=["cgj"]
    )
    services.appeal_assist(
        actor=user("handler-cgj"), number=appeal.number, text=OPINION, result="resolved"
    )
    assert AssistPart.objects.get(appeal=appeal).status == PartStatus.ANSWERED


def test_refusals_write_nothing(make_appeal: Any) -> None:
    appeal = dispatched(make_appeal)
    n = appeal.number
    before = snapshot(appeal)
    # A unit with no part (住建局) does not even see the appeal.
    with pytest.raises(NotFound):
        services.appeal_assist(actor=user("handler-zjj"), number=n, text=OPINION, result="resolved")
    # The lead unit is not a co-unit of its own appeal.
    with pytest.raises(PermissionDenied) as lead:
        services.appeal_assist(actor=user("handler-jtj"), number=n, text=OPINION, result="resolved")
    assert "协办单位" in str(lead.value.message)
    with pytest.raises(PermissionDenied):
        services.appeal_assist_claim(actor=user("operator"), number=n)
    # A co-unit is not the lead: it may not reply, claim or return the appeal.
    with pytest.raises(PermissionDenied) as reply:
        services.appeal_reply(actor=user("handler-cgj"), number=n, result="resolved", text=REPLY)
    assert str(reply.value.message) == "只有主办单位的承办人可以进行此操作。"
    assert snapshot(appeal) == before and AssistPart.objects.get().status == "open"


def test_assisting_twice_or_claiming_a_claimed_part_is_409(make_appeal: Any) -> None:
    appeal = dispatched(make_appeal)
    cgj = user("handler-cgj")
    services.appeal_assist_claim(actor=cgj, number=appeal.number)
    with pytest.raises(Conflict) as again:
        services.appeal_assist_claim(actor=user("handler-cgj"), number=appeal.number)
    assert again.value.code == "part_taken"
    services.appeal_assist(actor=cgj, number=appeal.number, text=OPINION, result="resolved")
    before = snapshot(appeal)
    with pytest.raises(Conflict) as twice:
        services.appeal_assist(actor=cgj, number=appeal.number, text="补充意见", result="partly")
    assert twice.value.code == "part_answered"
    assert snapshot(appeal) == before
    assert AssistPart.objects.get().text == OPINION


@pytest.mark.parametrize("status", ["received", "replied", "closed", "invalid"])
def test_a_part_moves_only_while_the_lead_holds_the_appeal(make_appeal: Any, status: str) -> None:
    appeal = make_appeal(content=ROAD)
    n = appeal.number
    op = user("operator")
    if status == "invalid":
        services.appeal_dispatch(actor=op, number=n, unit="jtj", co_units=["cgj"])
        services.appeal_invalidate(actor=op, number=n, reason="重复骚扰电话")
    elif status != "received":
        appeal = dispatched(make_appeal, co=("cgj",))
        n = appeal.number
        services.appeal_reply(
            actor=user("handler-jtj"), number=n, result="resolved", text=REPLY, reason="情况紧急"
        )
        if status == "closed":
            sup = user("supervisor")
            services.appeal_visit(
                actor=sup,
                number=n,
                data=services.VisitInput(
                    reached=True, resolved=True, satisfaction="satisfied", authentic=True
                ),
            )
            services.appeal_close(actor=sup, number=n)
    # Before dispatch the co-unit does not see it (404); afterwards the state refuses (409).
    with pytest.raises(NotFound if status == "received" else Conflict):
        services.appeal_assist(actor=user("handler-cgj"), number=n, text=OPINION, result="resolved")


def test_the_lead_must_say_why_it_replies_before_the_co_units_answer(make_appeal: Any) -> None:
    appeal = dispatched(make_appeal, co=("cgj", "sthj"))
    jtj = user("handler-jtj")
    services.appeal_assist(
        actor=user("handler-sthj"), number=appeal.number, text="经检测无污染。", result="resolved"
    )
    before = snapshot(appeal)
    with pytest.raises(Conflict) as refused:
        services.appeal_reply(actor=jtj, number=appeal.number, result="resolved", text=REPLY)
    assert refused.value.code == "parts_unanswered"
    assert "城管局" in str(refused.value.message) and "生态环境" not in str(refused.value.message)
    assert snapshot(appeal) == before
    services.appeal_reply(
        actor=jtj,
        number=appeal.number,
        result="resolved",
        text=REPLY,
        reason="群众急需通行，先行答复",
    )
    event = appeal.events.get(action="reply")
    assert event.payload["unanswered"] == ["cgj"]
    assert event.payload["unanswered_reason"] == "群众急需通行，先行答复"


def test_a_return_withdraws_the_parts_and_the_next_dispatch_makes_new_ones(
    make_appeal: Any,
) -> None:
    appeal = dispatched(make_appeal, co=("cgj",))
    services.appeal_assist(
        actor=user("handler-cgj"), number=appeal.number, text=OPINION, result="resolved"
    )
    services.appeal_return(
        actor=user("handler-jtj"), number=appeal.number, reason="属于乡镇管护道路，非我局职责"
    )
    assert list(appeal.parts.values_list("status", flat=True)) == ["withdrawn"]
    assert appeal.events.get(action="return").payload["parts_withdrawn"] == ["cgj"]
    with pytest.raises(NotFound):  # no longer a co-unit, it no longer sees the appeal
        services.appeal_assist(
            actor=user("handler-cgj"), number=appeal.number, text=OPINION, result="resolved"
        )
    services.appeal_dispatch(
        actor=user("operator"), number=appeal.number, unit="jtj", co_units=["cgj"]
    )
    live = appeal.parts.exclude(status="withdrawn").get()
    assert live.status == "open" and live.text == ""
    assert appeal.parts.get(status="withdrawn").text == OPINION  # the history stays


def test_the_audit_still_verifies_a_ledger_with_parts(make_appeal: Any) -> None:
    from django.core.management import call_command

    appeal = dispatched(make_appeal)
    services.appeal_assist(
        actor=user("handler-cgj"), number=appeal.number, text=OPINION, result="resolved"
    )
    services.appeal_reply(
        actor=user("handler-jtj"), number=appeal.number, result="resolved", text=REPLY
    )
    call_command("audit", "verify")  # raises SystemExit on a mismatch


# ----- API --------------------------------------------------------------------------------------


def test_api_the_full_path_with_a_co_unit(api: Any, make_appeal: Any) -> None:
    appeal = make_appeal(title="人民路路面坑洼", content=ROAD)
    n = appeal.number
    r = api("operator").post(f"/appeals/{n}/dispatch", {"unit": "jtj", "co_units": ["cgj"]})
    assert r.status == 200 and r.body["parts"][0]["unit"]["code"] == "cgj"
    assert r.body["parts"][0]["status"] == "open" and r.body["parts"][0]["due"]
    assert api("handler-jtj").post(f"/appeals/{n}/claim", {}).status == 200
    r = api("handler-cgj").post(f"/appeals/{n}/assist/claim")
    assert r.status == 200, r.body
    assert [p["status"] for p in r.body["parts"]] == ["claimed"]
    r = api("handler-cgj").post(f"/appeals/{n}/assist", {"result": "resolved", "text": OPINION})
    assert r.status == 200, r.body
    assert r.body["events"][-1]["action"] == "assist"
    assert r.body["events"][-1]["payload"]["unit"] == "cgj"
    r = api("handler-jtj").post(f"/appeals/{n}/reply", {"result": "resolved", "text": REPLY})
    assert r.status == 200 and r.body["status"] == "replied", r.body
    r = api("supervisor").get(f"/appeals/{n}")
    assert r.body["parts"] == [
        {
            "unit": {"code": "cgj", "name": "城管局"},
            "status": "answered",
            "due": r.body["parts"][0]["due"],
            "report_due": None,  # dispatched as a co-unit, not whistled in
            "reported_at": None,
            "claimed_by": r.body["parts"][0]["claimed_by"],
            "claimed_at": r.body["parts"][0]["claimed_at"],
            "text": OPINION,
            "result": "resolved",
            "answered_by": r.body["parts"][0]["answered_by"],
            "answered_at": r.body["parts"][0]["answered_at"],
        }
    ]
    assert r.body["parts"][0]["claimed_by"] and r.body["parts"][0]["due"].endswith("+08:00")


def test_api_denials(api: Any, make_appeal: Any) -> None:
    appeal = dispatched(make_appeal)
    n = appeal.number
    body = {"result": "resolved", "text": OPINION}
    # A co-unit's handler replying as the lead.
    r = api("handler-cgj").post(f"/appeals/{n}/reply", {"result": "resolved", "text": REPLY})
    assert r.status == 403 and r.body["detail"] == "只有主办单位的承办人可以进行此操作。"
    # A unit that is neither lead nor co-unit.
    assert api("handler-zjj").post(f"/appeals/{n}/assist", body).status == 404
    assert api("handler-zjj").post(f"/appeals/{n}/assist/claim").status == 404
    # The lead is not its own co-unit; an operator has no part.
    r = api("handler-jtj").post(f"/appeals/{n}/assist", body)
    assert r.status == 403 and "协办单位" in r.body["detail"]
    assert api("operator").post(f"/appeals/{n}/assist/claim").status == 403
    # Bad input is 400 with the field; a second assist is 409.
    r = api("handler-cgj").post(f"/appeals/{n}/assist", {"result": "resolved", "text": " "})
    assert r.status == 400 and [e["field"] for e in r.body["errors"]] == ["text"]
    assert api("handler-cgj").post(f"/appeals/{n}/assist", body).status == 200
    r = api("handler-cgj").post(f"/appeals/{n}/assist", body)
    assert r.status == 409 and r.body["detail"] == "城管局已经答复过本单位的协办部分。"
    assert AppealEvent.objects.filter(appeal=appeal, action="assist").count() == 1


def test_api_the_lead_replies_early_only_with_a_reason(api: Any, make_appeal: Any) -> None:
    appeal = dispatched(make_appeal)
    n = appeal.number
    before = snapshot(appeal)
    r = api("handler-jtj").post(f"/appeals/{n}/reply", {"result": "resolved", "text": REPLY})
    assert r.status == 409, r.body
    assert "城管局" in r.body["detail"] and "说明" in r.body["detail"]
    assert snapshot(appeal) == before
    r = api("handler-jtj").post(
        f"/appeals/{n}/reply",
        {"result": "partly", "text": REPLY, "reason": "城管局联系不上，先行答复"},
    )
    assert r.status == 200 and r.body["status"] == "replied"
    assert r.body["events"][-1]["payload"]["unanswered_reason"] == "城管局联系不上，先行答复"


# ----- web --------------------------------------------------------------------------------------


def test_web_the_co_unit_finds_its_part_in_the_inbox_claims_and_answers_with_a_photo(
    make_appeal: Any, county: Directory
) -> None:
    appeal = dispatched(make_appeal)
    n = appeal.number
    cgj = client_for("handler-cgj")
    inbox = html(cgj.get("/appeals/inbox/"))
    assert 'data-testid="assist"' in inbox and n in inbox
    page = html(cgj.get(f"/appeals/{n}/"))
    assert 'data-action="assist_claim"' in page and 'data-action="assist"' in page
    assert 'data-action="reply"' not in page and 'data-action="claim"' not in page
    r = cgj.post(f"/appeals/{n}/assist_claim/", {})
    assert r.status_code == 302, html(r)[:800]
    page = html(cgj.get(f"/appeals/{n}/"))
    assert 'data-action="assist_claim"' not in page and 'data-action="assist"' in page
    r = cgj.post(
        f"/appeals/{n}/assist/",
        {
            "assist-result": "resolved",
            "assist-text": OPINION,
            "assist-attachments": [photo("清运后.jpg")],
        },
    )
    assert r.status_code == 302, html(r)[:800]
    row = Attachment.objects.get()
    assert (row.stage, row.public, row.event.action) == ("assist", False, "assist")  # type: ignore[union-attr]
    assert row.event.payload["attachments"][0]["sha256"] == row.sha256  # type: ignore[union-attr]
    assert n not in html(cgj.get("/appeals/inbox/"))  # nothing owed any more
    # The lead sees the part on the page and replies through its form.
    lead = client_for("handler-jtj")
    page = html(lead.get(f"/appeals/{n}/"))
    assert 'data-testid="parts"' in page and "城管局" in page and OPINION in page
    assert client_for("handler-jtj").get(f"/appeals/{n}/files/{row.pk}/").status_code == 200
    r = lead.post(f"/appeals/{n}/reply/", {"reply-result": "resolved", "reply-text": REPLY})
    assert r.status_code == 302, html(r)[:800]
    assert Appeal.objects.get(pk=appeal.pk).status == Status.REPLIED
    page = html(client_for("supervisor").get(f"/appeals/{n}/"))
    assert 'data-testid="parts"' in page and OPINION in page


def test_web_the_lead_is_refused_beside_the_form_until_it_states_a_reason(
    make_appeal: Any,
) -> None:
    appeal = dispatched(make_appeal)
    n = appeal.number
    lead = client_for("handler-jtj")
    r = lead.post(f"/appeals/{n}/reply/", {"reply-result": "resolved", "reply-text": REPLY})
    assert r.status_code == 409
    assert "城管局" in html(r)
    assert Appeal.objects.get(pk=appeal.pk).status == Status.IN_PROGRESS
    r = lead.post(
        f"/appeals/{n}/reply/",
        {"reply-result": "resolved", "reply-text": REPLY, "reply-reason": "群众急需通行"},
    )
    assert r.status_code == 302
    assert Appeal.objects.get(pk=appeal.pk).status == Status.REPLIED
    # The co-unit sees only its own part, the other units' handlers nothing.
    assert client_for("handler-zjj").get(f"/appeals/{n}/").status_code == 404
