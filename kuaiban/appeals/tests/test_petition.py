"""Petitions (信访) keep the clock of 《信访工作条例》: the written notice of acceptance within
15 days, handling within 60 days, an extension of at most 30 days, review (复查) and
re-examination (复核) within 30 days each, a group visit urgent by default. Exact dates on
China's working calendar (National Day 2026: 1-7 October off, Saturday 10 October worked)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from kuaiban.appeals import services
from kuaiban.appeals.models import (
    ALLOWED_TRANSITIONS,
    PETITION_ACTIONS,
    Appeal,
    AppealEvent,
    PetitionReview,
    Status,
)
from kuaiban.appeals.tests.test_services import to_status
from kuaiban.conftest import user
from kuaiban.core import clock
from kuaiban.core.errors import Conflict, PermissionDenied
from kuaiban.deadlines.calendar import SHANGHAI
from kuaiban.deadlines.models import TimeLimit

pytestmark = pytest.mark.django_db

LAND = (
    "我们是东门村三组的村民，2019年修建县道时占用了我们的承包地，至今征地补偿款只发了一半，"
    "多次找镇政府没有结果，请求依法足额发放补偿款。"
)
OPINION = "经核查，东门村三组被占承包地补偿款尚欠部分已列入年度预算，将于十一月底前足额发放。"
DISSENT = "答复没有说明欠款数额和发放办法，我们不同意这个处理意见，请求复查。"


def at(m: int, d: int, hh: int, mm: int = 0, y: int = 2026) -> dt.datetime:
    return dt.datetime(y, m, d, hh, mm, tzinfo=SHANGHAI)


RECEIVED = at(9, 21, 10)  # Monday 21 September 2026
REPLIED = at(9, 30, 10)


def petition(make_appeal: Any, when: dt.datetime = RECEIVED, **fields: Any) -> Appeal:
    with clock.frozen(when):
        return make_appeal(
            channel="petition",
            title="征地补偿款未足额发放",
            content=LAND,
            submitter_name="李秀英",
            **fields,
        )


def handled(make_appeal: Any, *, replied: dt.datetime = REPLIED) -> Appeal:
    """A petition dispatched to 住建局 on receipt, claimed and answered on ``replied``."""
    appeal = petition(make_appeal)
    with clock.frozen(RECEIVED):
        services.appeal_dispatch(actor=user("operator"), number=appeal.number, unit="zjj")
        services.appeal_claim(actor=user("handler-zjj"), number=appeal.number)
    with clock.frozen(replied):
        services.appeal_reply(
            actor=user("handler-zjj"), number=appeal.number, result="partly", text=OPINION
        )
    return Appeal.objects.get(pk=appeal.pk)


# ----- the limits table --------------------


def test_the_petition_rows_carry_their_legal_basis(county: Any) -> None:
    row = TimeLimit.objects.get(channel="petition", kind="", urgency="")
    assert (row.reply_amount, row.reply_unit) == (60, "days")
    assert (row.notice_amount, row.notice_unit) == (15, "days")
    assert (row.review_amount, row.recheck_amount, row.extension_amount) == (30, 30, 30)
    assert "《信访工作条例》" in row.basis and "第三十二条" in row.basis
    assert "第三十五条" in row.basis and "第三十六条" in row.basis
    group = TimeLimit.objects.get(channel="petition", kind="", urgency="urgent")
    assert (group.reply_amount, group.reply_unit, group.claim_amount) == (60, "days", None)


# ----- notice of acceptance and handling --------------------


def test_notice_is_due_in_15_days_rolled_past_national_day(make_appeal: Any) -> None:
    appeal = petition(make_appeal)
    # 21 September + 15 days = Tuesday 6 October, a holiday: the first working day after it.
    assert appeal.notice_due == at(10, 8, 17, 30)
    assert appeal.noticed_at is None
    hotline = make_appeal()
    assert hotline.notice_due is None


def test_handling_is_60_days_and_a_co_unit_part_a_working_day_before(make_appeal: Any) -> None:
    appeal = petition(make_appeal)
    with clock.frozen(RECEIVED):
        appeal = services.appeal_dispatch(
            actor=user("operator"), number=appeal.number, unit="zjj", co_units=["cgj"]
        )
    # 21 September + 60 days = Friday 20 November.
    assert appeal.reply_due == at(11, 20, 17, 30)
    assert appeal.parts.get().due == at(11, 19, 17, 30)


def test_giving_the_notice(make_appeal: Any) -> None:
    appeal = petition(make_appeal)
    with clock.frozen(at(10, 8, 9)):
        appeal = services.appeal_petition_notice(
            actor=user("operator"), number=appeal.number, text="您反映的征地补偿问题已受理。"
        )
    assert appeal.noticed_at == at(10, 8, 9)
    event = appeal.events.get(action="petition_notice")
    assert event.payload == {"due": "2026-10-08T17:30:00+08:00", "on_time": True}
    assert appeal.status == "received" and event.to_status == ""
    with pytest.raises(Conflict) as err:
        services.appeal_petition_notice(actor=user("operator"), number=appeal.number, text="再次")
    assert err.value.code == "already_noticed"


def test_notice_denials(make_appeal: Any) -> None:
    appeal = petition(make_appeal)
    with pytest.raises(PermissionDenied):
        services.appeal_petition_notice(actor=user("leader"), number=appeal.number, text="已受理。")
    hotline = make_appeal()
    with pytest.raises(Conflict) as err:
        services.appeal_petition_notice(
            actor=user("operator"), number=hotline.number, text="已受理。"
        )
    assert err.value.code == "not_petition"


def test_a_group_visit_is_urgent_by_default(make_appeal: Any) -> None:
    group = petition(make_appeal, group_size=6)
    assert group.urgency == "urgent"
    with clock.frozen(RECEIVED):
        group = services.appeal_dispatch(actor=user("operator"), number=group.number, unit="zjj")
    # Claimed within 2 working hours (urgent), handled within the statutory 60 days.
    assert group.claim_due == at(9, 21, 12)
    assert group.reply_due == at(11, 20, 17, 30)
    assert petition(make_appeal, group_size=4).urgency == "normal"
    assert petition(make_appeal, group_size=8, urgency="normal").urgency == "normal"


# ----- extension at most 30 days --------------------


def test_a_petition_extension_is_capped_at_30_days(api: Any, make_appeal: Any) -> None:
    appeal = petition(make_appeal)
    with clock.frozen(RECEIVED):
        services.appeal_dispatch(actor=user("operator"), number=appeal.number, unit="zjj")
        services.appeal_claim(actor=user("handler-zjj"), number=appeal.number)
    body = {"appeal": appeal.number, "reason": "需会同自然资源局核实被占地面积。"}
    with clock.frozen(at(11, 16, 9)):
        # 20 November + 30 days = Sunday 20 December: Monday 21 December at the latest.
        r = api("handler-zjj").post("/extensions", {**body, "proposed_due": "2026-12-22"})
        assert r.status == 400, r.body
        assert [e["field"] for e in r.body["errors"]] == ["proposed_due"]
        assert "2026-12-21" in r.body["errors"][0]["message"]
        r = api("handler-zjj").post("/extensions", {**body, "proposed_due": "2026-12-21"})
        assert r.status in (200, 201), r.body
        extension = r.body["id"]
        r = api("supervisor").post(
            f"/extensions/{extension}/decision", {"decision": "approve", "due": "2026-12-23"}
        )
        assert r.status == 400 and r.body["errors"][0]["field"] == "due"
        r = api("supervisor").post(f"/extensions/{extension}/decision", {"decision": "approve"})
        assert r.status == 200, r.body
    assert Appeal.objects.get(pk=appeal.pk).reply_due == at(12, 21, 17, 30)


# ----- review (复查) and re-examination (复核) --------------------


def test_review_then_re_examination(make_appeal: Any) -> None:
    appeal = handled(make_appeal)
    n = appeal.number
    with clock.frozen(at(10, 9, 10)):
        review = services.appeal_review_request(
            actor=user("operator"), number=n, level="review", reason=DISSENT
        )
    # 9 October + 30 days = Sunday 8 November: Monday 9 November.
    assert review.due == at(11, 9, 17, 30)
    with clock.frozen(at(10, 12, 10)), pytest.raises(Conflict) as err:
        services.appeal_review_request(
            actor=user("operator"), number=n, level="recheck", reason=DISSENT
        )
    assert err.value.code == "review_pending"
    with clock.frozen(at(10, 20, 10)):
        services.appeal_review_decide(
            actor=user("supervisor"), number=n, outcome="upheld", opinion="维持原处理意见。"
        )
    with clock.frozen(at(10, 21, 10)):
        recheck = services.appeal_review_request(
            actor=user("operator"), number=n, level="recheck", reason="对复查意见不服。"
        )
    assert recheck.due == at(11, 20, 17, 30)
    with clock.frozen(at(11, 25, 10)):
        decided = services.appeal_review_decide(
            actor=user("supervisor"), number=n, outcome="changed", opinion="责令十日内足额发放。"
        )
    assert decided.on_time is False
    events = AppealEvent.objects.filter(appeal=appeal, action__startswith="review_")
    assert [(e.action, e.payload["level"]) for e in events.order_by("seq")] == [
        ("review_request", "review"),
        ("review_decide", "review"),
        ("review_request", "recheck"),
        ("review_decide", "recheck"),
    ]
    assert events.order_by("seq").last().payload["on_time"] is False  # type: ignore[union-attr]
    assert Appeal.objects.get(pk=appeal.pk).status == "replied"


def test_review_denials(make_appeal: Any) -> None:
    appeal = handled(make_appeal)
    n = appeal.number
    # The time to ask runs out 30 days after the written reply (30 September → 30 October).
    with clock.frozen(at(10, 31, 9)), pytest.raises(Conflict) as err:
        services.appeal_review_request(
            actor=user("operator"), number=n, level="review", reason=DISSENT
        )
    assert err.value.code == "review_too_late" and "2026-10-30" in err.value.message
    with clock.frozen(at(10, 9, 10)):
        with pytest.raises(PermissionDenied):
            services.appeal_review_request(
                actor=user("handler-zjj"), number=n, level="review", reason=DISSENT
            )
        with pytest.raises(Conflict) as err:
            services.appeal_review_decide(
                actor=user("supervisor"), number=n, outcome="upheld", opinion="维持。"
            )
        assert err.value.code == "no_open_review"
        services.appeal_review_request(
            actor=user("operator"), number=n, level="review", reason=DISSENT
        )
        with pytest.raises(Conflict) as err:
            services.appeal_review_request(
                actor=user("operator"), number=n, level="review", reason=DISSENT
            )
        assert err.value.code == "review_exists"
        with pytest.raises(PermissionDenied):
            services.appeal_review_decide(
                actor=user("operator"), number=n, outcome="upheld", opinion="维持。"
            )
    assert PetitionReview.objects.filter(appeal=appeal).count() == 1


def test_only_a_petition_is_reviewed_and_only_after_the_reply(make_appeal: Any) -> None:
    hotline = make_appeal()
    services.appeal_dispatch(actor=user("operator"), number=hotline.number, unit="zjj")
    services.appeal_claim(actor=user("handler-zjj"), number=hotline.number)
    services.appeal_reply(
        actor=user("handler-zjj"), number=hotline.number, result="resolved", text=OPINION
    )
    with pytest.raises(Conflict) as err:
        services.appeal_review_request(
            actor=user("operator"), number=hotline.number, level="review", reason=DISSENT
        )
    assert err.value.code == "not_petition"
    fresh = petition(make_appeal)
    with pytest.raises(Conflict) as err:
        services.appeal_review_request(
            actor=user("operator"), number=fresh.number, level="review", reason=DISSENT
        )
    assert err.value.code == "wrong_status"


@pytest.mark.parametrize("start", [s.value for s in Status])
@pytest.mark.parametrize("action", sorted(PETITION_ACTIONS))
def test_every_petition_step_from_every_status(make_appeal: Any, start: str, action: str) -> None:
    """Allowed steps succeed and leave the status; every other pair is a 409 wrong_status."""
    appeal = to_status(make_appeal, start, channel="petition", content=LAND)
    n = appeal.number
    op, sup = user("operator"), user("supervisor")
    if action == "review_decide" and start in ALLOWED_TRANSITIONS[action]:
        services.appeal_review_request(actor=op, number=n, level="review", reason=DISSENT)
    calls = {
        "petition_notice": lambda: services.appeal_petition_notice(
            actor=op, number=n, text="已受理。"
        ),
        "review_request": lambda: services.appeal_review_request(
            actor=op, number=n, level="review", reason=DISSENT
        ),
        "review_decide": lambda: services.appeal_review_decide(
            actor=sup, number=n, outcome="upheld", opinion="维持。"
        ),
    }
    before = appeal.events.count()
    if start in ALLOWED_TRANSITIONS[action]:
        calls[action]()
        assert appeal.events.count() == before + 1
    else:
        with pytest.raises(Conflict) as err:
            calls[action]()
        assert err.value.code == "wrong_status"
        assert appeal.events.count() == before
    assert Appeal.objects.get(pk=appeal.pk).status == start


# ----- API --------------------


def test_api_the_petition_path(api: Any, make_appeal: Any) -> None:
    appeal = petition(make_appeal)
    n = appeal.number
    with clock.frozen(at(9, 22, 9)):
        r = api("operator").post(f"/appeals/{n}/petition/notice", {"text": "已受理，请等候处理。"})
        assert r.status == 200, r.body
        assert r.body["notice_due"].startswith("2026-10-08T17:30")
        assert r.body["noticed_at"] and r.body["events"][-1]["action"] == "petition_notice"
        r = api("operator").post(f"/appeals/{n}/petition/notice", {"text": "再次告知"})
        assert r.status == 409 and r.body["detail"] == "已经出具过受理告知书。"
        r = api("handler-zjj").post(f"/appeals/{n}/petition/notice", {"text": "已受理"})
        assert r.status == 404
    appeal = handled(make_appeal)
    n = appeal.number
    with clock.frozen(at(10, 9, 10)):
        r = api("handler-zjj").post(
            f"/appeals/{n}/petition/review", {"level": "review", "reason": DISSENT}
        )
        assert r.status == 403 and r.body["detail"] == "您的角色（承办人）无权进行此操作。"
        r = api("operator").post(f"/appeals/{n}/petition/review", {"level": "x", "reason": "a"})
        assert r.status == 400 and r.body["errors"][0]["field"] == "level"
        r = api("operator").post(
            f"/appeals/{n}/petition/review", {"level": "recheck", "reason": DISSENT}
        )
        assert r.status == 409 and r.body["detail"] == "只有在复查意见作出后才能请求复核。"
        r = api("operator").post(
            f"/appeals/{n}/petition/review", {"level": "review", "reason": DISSENT}
        )
        assert r.status == 200, r.body
        assert r.body["reviews"][0]["level"] == "review"
        assert r.body["reviews"][0]["due"].startswith("2026-11-09T17:30")
    with clock.frozen(at(10, 20, 10)):
        body = {"outcome": "upheld", "opinion": "维持原处理意见。"}
        r = api("operator").post(f"/appeals/{n}/petition/review/decide", body)
        assert r.status == 403
        r = api("supervisor").post(f"/appeals/{n}/petition/review/decide", body)
        assert r.status == 200, r.body
        assert r.body["reviews"][0]["outcome"] == "upheld" and r.body["status"] == "replied"
        r = api("supervisor").post(f"/appeals/{n}/petition/review/decide", body)
        assert r.status == 409
