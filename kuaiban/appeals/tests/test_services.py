"""The appeal's life through its services: every allowed move, every refused one."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from kuaiban.appeals import services
from kuaiban.appeals.models import (
    ALLOWED_TRANSITIONS,
    PART_ACTIONS,
    PETITION_ACTIONS,
    Action,
    Appeal,
    AppealEvent,
    Status,
)
from kuaiban.conftest import user
from kuaiban.core import clock
from kuaiban.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from kuaiban.org.models import Role, User

pytestmark = pytest.mark.django_db


def events(appeal: Appeal) -> list[tuple[str, str, str]]:
    return list(
        AppealEvent.objects.filter(appeal=appeal)
        .order_by("seq")
        .values_list("action", "from_status", "to_status")
    )


def to_status(make_appeal: Any, status: str, **fields: Any) -> Appeal:
    """Walk a fresh appeal to ``status`` through the ordinary services."""
    appeal = make_appeal(**fields)
    n = appeal.number
    op, handler, sup = user("operator"), user("handler-zjj"), user("supervisor")
    path = {
        "received": [],
        "dispatched": ["dispatch"],
        "in_progress": ["dispatch", "claim"],
        "replied": ["dispatch", "claim", "reply"],
        "visited": ["dispatch", "claim", "reply", "visit"],
        "closed": ["dispatch", "claim", "reply", "visit", "close"],
        "merged": ["merge"],
        "invalid": ["invalidate"],
    }[status]
    for step in path:
        if step == "dispatch":
            services.appeal_dispatch(actor=op, number=n, unit="zjj")
        elif step == "claim":
            services.appeal_claim(actor=handler, number=n)
        elif step == "reply":
            services.appeal_reply(
                actor=handler, number=n, result="resolved", text="已修复供热管道。"
            )
        elif step == "visit":
            services.appeal_visit(
                actor=sup,
                number=n,
                data=services.VisitInput(
                    reached=True, resolved=True, satisfaction="satisfied", authentic=True
                ),
            )
        elif step == "close":
            services.appeal_close(actor=sup, number=n)
        elif step == "merge":
            master = make_appeal(content="阳光花园小区暖气不热，多户反映。")
            services.appeal_merge(actor=op, number=n, into=master.number)
        elif step == "invalidate":
            services.appeal_invalidate(actor=op, number=n, reason="测试电话")
    appeal.refresh_from_db()
    assert appeal.status == status
    return appeal


def test_register_gives_number_and_first_event(make_appeal: Any) -> None:
    appeal = make_appeal()
    today = clock.now().astimezone(dt.timezone(dt.timedelta(hours=8))).strftime("%Y%m%d")
    assert appeal.number.startswith(f"KB{today}-")
    assert appeal.status == Status.RECEIVED
    assert appeal.phone_last4 == "5678"
    assert events(appeal) == [("register", "", "received")]


def test_the_whole_loop_writes_one_event_per_transition(make_appeal: Any) -> None:
    appeal = to_status(make_appeal, "closed")
    assert events(appeal) == [
        ("register", "", "received"),
        ("dispatch", "received", "dispatched"),
        ("claim", "dispatched", "in_progress"),
        ("reply", "in_progress", "replied"),
        ("visit", "replied", "visited"),
        ("close", "visited", "closed"),
    ]
    assert appeal.claimed_at and appeal.replied_at and appeal.visited_at and appeal.closed_at
    assert appeal.handler == user("handler-zjj")
    assert appeal.claim_due is not None and appeal.reply_due is not None


# Delegation needs a township leading it, 就地解决 a grid: test_levels.py and test_grid.py.
LEVEL_ACTIONS = frozenset({"delegate", "resolve_on_spot"})


@pytest.mark.parametrize("start", [s.value for s in Status])
# The co-units' parts need a dispatch with co-units: test_assist.py walks them through every status;
# a petition's own steps need a petition: test_petition.py does; the three levels' moves need
# villages and grids: test_levels.py, test_whistle.py and test_grid.py do.
@pytest.mark.parametrize(
    "action",
    [
        str(a)
        for a in ALLOWED_TRANSITIONS
        if a not in PART_ACTIONS | PETITION_ACTIONS and a not in LEVEL_ACTIONS
    ],
)
def test_every_action_from_every_status(make_appeal: Any, start: str, action: str) -> None:
    """Allowed moves succeed; every other (action, status) pair is a 409 Conflict."""
    appeal = to_status(make_appeal, start, kind="consultation")
    n = appeal.number
    op, handler, sup = user("operator"), user("handler-zjj"), user("supervisor")
    calls = {
        "dispatch": lambda: services.appeal_dispatch(actor=op, number=n, unit="zjj"),
        "claim": lambda: services.appeal_claim(actor=handler, number=n),
        "return": lambda: services.appeal_return(actor=handler, number=n, reason="不属于本单位"),
        "reply": lambda: services.appeal_reply(
            actor=handler, number=n, result="partly", text="部分解决"
        ),
        "answer": lambda: services.appeal_answer(actor=op, number=n, text="已当场解答政策。"),
        "visit": lambda: services.appeal_visit(
            actor=sup,
            number=n,
            data=services.VisitInput(
                reached=True, resolved=True, satisfaction="basic", authentic=True
            ),
        ),
        "rework": lambda: services.appeal_rework(actor=sup, number=n, note="核查未整改"),
        "close": lambda: services.appeal_close(actor=sup, number=n),
        "merge": lambda: services.appeal_merge(
            actor=op, number=n, into=make_appeal(content="同一小区暖气问题").number
        ),
        "invalidate": lambda: services.appeal_invalidate(actor=op, number=n, reason="重复骚扰"),
        "escalate": lambda: services.appeal_escalate(
            actor=op, number=n, target="city12345", target_name="市12345", reason="需市级协调"
        ),
    }
    # Units only see appeals they lead: a handler acting on an undispatched appeal gets 404.
    handler_blind = action in ("claim", "return", "reply") and appeal.lead_unit_id is None
    before = events(appeal)
    if start in ALLOWED_TRANSITIONS[action]:
        calls[action]()
        assert len(events(appeal)) > len(before)
    else:
        with pytest.raises(NotFound if handler_blind else Conflict):
            calls[action]()
        assert events(appeal) == before
        appeal.refresh_from_db()
        assert appeal.status == start


@pytest.mark.parametrize(
    ("action", "who"),
    [
        ("dispatch", "handler-zjj"),
        ("dispatch", "leader"),
        ("claim", "operator"),
        ("claim", "handler-ybj"),
        ("reply", "supervisor"),
        ("visit", "operator"),
        ("visit", "handler-zjj"),
        ("close", "operator"),
        ("close", "leader"),
        ("invalidate", "leader"),
    ],
)
def test_wrong_role_or_unit_is_refused(make_appeal: Any, action: str, who: str) -> None:
    status = {
        "dispatch": "received",
        "claim": "dispatched",
        "reply": "in_progress",
        "visit": "replied",
        "close": "visited",
        "invalidate": "received",
    }[action]
    appeal = to_status(make_appeal, status)
    actor = user(who)
    n = appeal.number
    before = events(appeal)
    call = {
        "dispatch": lambda: services.appeal_dispatch(actor=actor, number=n, unit="zjj"),
        "claim": lambda: services.appeal_claim(actor=actor, number=n),
        "reply": lambda: services.appeal_reply(actor=actor, number=n, result="resolved", text="好"),
        "visit": lambda: services.appeal_visit(
            actor=actor, number=n, data=services.VisitInput(reached=False)
        ),
        "close": lambda: services.appeal_close(actor=actor, number=n),
        "invalidate": lambda: services.appeal_invalidate(actor=actor, number=n, reason="无效"),
    }[action]
    # Another unit's handler doesn't even learn the appeal exists.
    expected = NotFound if who.startswith("handler-") and who != "handler-zjj" else PermissionDenied
    if who == "handler-zjj" and status == "received":
        expected = NotFound
    with pytest.raises(expected):
        call()
    assert events(appeal) == before


def test_dispatch_validates_units(make_appeal: Any) -> None:
    appeal = make_appeal()
    op = user("operator")
    with pytest.raises(ValidationFailed) as exc:
        services.appeal_dispatch(actor=op, number=appeal.number, unit="nosuch")
    assert exc.value.errors[0].field == "unit"
    with pytest.raises(ValidationFailed) as exc:
        services.appeal_dispatch(actor=op, number=appeal.number, unit="zjj", co_units=["zjj"])
    assert exc.value.errors[0].field == "co_units"
    services.appeal_dispatch(actor=op, number=appeal.number, unit="zjj", co_units=["cgj"])
    appeal.refresh_from_db()
    assert [u.code for u in appeal.co_units.all()] == ["cgj"]


def test_return_goes_back_to_dispatcher_and_twice_needs_arbitration(make_appeal: Any) -> None:
    appeal = make_appeal()
    n = appeal.number
    op, sup = user("operator"), user("supervisor")
    services.appeal_dispatch(actor=op, number=n, unit="zjj")
    services.appeal_return(actor=user("handler-zjj"), number=n, reason="属于城管职责")
    appeal.refresh_from_db()
    assert (appeal.status, appeal.lead_unit, appeal.return_count) == ("received", None, 1)
    services.appeal_dispatch(actor=op, number=n, unit="cgj")
    services.appeal_return(actor=user("handler-cgj"), number=n, reason="属于住建职责")
    with pytest.raises(PermissionDenied):
        services.appeal_dispatch(actor=op, number=n, unit="zjj")
    services.appeal_dispatch(actor=sup, number=n, unit="zjj")
    with pytest.raises(Conflict):
        services.appeal_return(actor=user("handler-zjj"), number=n, reason="还是不归我们")
    appeal.refresh_from_db()
    assert appeal.status == "dispatched" and appeal.lead_unit.code == "zjj"


def test_return_needs_a_reason(make_appeal: Any) -> None:
    appeal = to_status(make_appeal, "dispatched")
    with pytest.raises(ValidationFailed) as exc:
        services.appeal_return(actor=user("handler-zjj"), number=appeal.number, reason="  ")
    assert exc.value.errors[0].field == "reason"


def test_dissatisfied_visit_sends_back_for_rework(make_appeal: Any) -> None:
    appeal = to_status(make_appeal, "replied")
    services.appeal_visit(
        actor=user("visitor"),
        number=appeal.number,
        data=services.VisitInput(
            reached=True, resolved=False, satisfaction="dissatisfied", authentic=True, note="仍不热"
        ),
    )
    appeal.refresh_from_db()
    assert appeal.status == "in_progress" and appeal.rework_count == 1
    assert events(appeal)[-2:] == [
        ("visit", "replied", "visited"),
        ("rework", "visited", "in_progress"),
    ]


def test_untrue_visit_also_reworks(make_appeal: Any) -> None:
    appeal = to_status(make_appeal, "replied")
    services.appeal_visit(
        actor=user("visitor"),
        number=appeal.number,
        data=services.VisitInput(
            reached=True, resolved=True, satisfaction="satisfied", authentic=False
        ),
    )
    appeal.refresh_from_db()
    assert appeal.status == "in_progress"
    assert AppealEvent.objects.get(appeal=appeal, action="rework").payload["cause"] == "untrue"


def test_reached_visit_needs_every_answer(make_appeal: Any) -> None:
    appeal = to_status(make_appeal, "replied")
    with pytest.raises(ValidationFailed) as exc:
        services.appeal_visit(
            actor=user("visitor"), number=appeal.number, data=services.VisitInput(reached=True)
        )
    assert {e.field for e in exc.value.errors} == {"resolved", "satisfaction", "authentic"}
    assert appeal.visits.count() == 0


def test_three_unreached_attempts_on_different_days_end_unrated(make_appeal: Any) -> None:
    appeal = to_status(make_appeal, "replied")
    visitor = user("visitor")
    start = clock.now()
    for day in (0, 0, 1):
        with clock.frozen(start + dt.timedelta(days=day, hours=1)):
            services.appeal_visit(
                actor=visitor, number=appeal.number, data=services.VisitInput(reached=False)
            )
    appeal.refresh_from_db()
    assert appeal.status == "replied", "two days so far"
    with clock.frozen(start + dt.timedelta(days=2, hours=1)):
        services.appeal_visit(
            actor=visitor, number=appeal.number, data=services.VisitInput(reached=False)
        )
    appeal.refresh_from_db()
    assert appeal.status == "visited"
    last = AppealEvent.objects.filter(appeal=appeal).order_by("-seq").first()
    assert last.payload == {"reached": False, "rated": False, "attempts": 3}


def test_unreached_calls_count_again_after_a_rework(make_appeal: Any) -> None:
    appeal = to_status(make_appeal, "replied")
    n, visitor, handler = appeal.number, user("visitor"), user("handler-zjj")
    start = clock.now()

    def call(day: int, **answers: Any) -> str:
        with clock.frozen(start + dt.timedelta(days=day, hours=1)):
            services.appeal_visit(
                actor=visitor, number=n, data=services.VisitInput(reached=False, **answers)
            )
        appeal.refresh_from_db()
        return appeal.status

    assert [call(0), call(1)] == ["replied", "replied"]
    with clock.frozen(start + dt.timedelta(days=2, hours=1)):
        services.appeal_visit(
            actor=visitor,
            number=n,
            data=services.VisitInput(
                reached=True, resolved=False, satisfaction="dissatisfied", authentic=True
            ),
        )
        services.appeal_reply(actor=handler, number=n, result="resolved", text="已更换阀门。")
    # A new round: the two unreached days before the rework do not count towards its three.
    assert [call(3), call(4)] == ["replied", "replied"]
    assert call(5) == "visited"
    last = AppealEvent.objects.filter(appeal=appeal).order_by("-seq").first()
    assert last is not None and last.payload == {"reached": False, "rated": False, "attempts": 3}


def test_answer_at_intake_only_for_consultations(make_appeal: Any) -> None:
    complaint = make_appeal()
    with pytest.raises(Conflict):
        services.appeal_answer(actor=user("operator"), number=complaint.number, text="答复")
    consult = make_appeal(kind="consultation", content="请问灵活就业养老保险怎么缴？")
    services.appeal_answer(actor=user("operator"), number=consult.number, text="可在人社窗口办理。")
    consult.refresh_from_db()
    assert consult.status == "replied" and consult.reply_result == "resolved"


def test_merge_writes_events_on_both(make_appeal: Any) -> None:
    master = make_appeal(content="阳光花园5号楼暖气不热，已经一周。")
    dup = make_appeal(content="阳光花园五号楼暖气不热。")
    services.appeal_merge(actor=user("operator"), number=dup.number, into=master.number)
    dup.refresh_from_db()
    assert dup.status == "merged" and dup.merged_into == master
    assert events(master)[-1] == ("merged_in", "", "")
    with pytest.raises(ValidationFailed):
        services.appeal_merge(actor=user("operator"), number=master.number, into=master.number)
    closed = to_status(make_appeal, "closed")
    other = make_appeal()
    with pytest.raises(ValidationFailed) as exc:
        services.appeal_merge(actor=user("operator"), number=other.number, into=closed.number)
    assert exc.value.errors[0].field == "into"


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"content": ""}, "content"),
        ({"content": "长" * 5001}, "content"),
        ({"title": "题" * 121}, "title"),
        ({"submitter_phone": "12345"}, "submitter.phone"),
        ({"submitter_phone": "+1 212 555 0100"}, "submitter.phone"),
        (
            {"submitter_type": "enterprise", "credit_code": "91330000123456789X"},
            "submitter.credit_code",
        ),
        ({"submitter_type": "enterprise"}, "submitter.credit_code"),
        ({"submitter_id_number": "110101199003071234"}, "submitter.id_number"),
        ({"channel": "fax"}, "channel"),
        ({"kind": "praise"}, "kind"),
        ({"region": "999"}, "region"),
        ({"group_size": 12}, "group_size"),
        ({"channel": "petition", "group_size": 0}, "group_size"),
    ],
)
def test_register_refuses_bad_input_and_writes_nothing(
    make_appeal: Any, fields: dict[str, Any], field: str
) -> None:
    before = (Appeal.objects.count(), AppealEvent.objects.count())
    with pytest.raises(ValidationFailed) as exc:
        make_appeal(**fields)
    assert field in {e.field for e in exc.value.errors}
    assert (Appeal.objects.count(), AppealEvent.objects.count()) == before


def test_register_accepts_enterprise_with_valid_code_and_fixed_line(make_appeal: Any) -> None:
    from stdnum.cn import uscc

    body = "91330100MA27XJ1Q4"
    code = body + uscc.calc_check_digit(body)
    appeal = make_appeal(
        submitter_type="enterprise",
        enterprise_name="清河县兴业机械制造有限公司",
        credit_code=code,
        submitter_phone="0571-87654321",
    )
    assert appeal.credit_code == code
    assert appeal.submitter_phone == "57187654321"
    assert appeal.phone_last4 == "4321"


def test_petition_group_size(make_appeal: Any) -> None:
    appeal = make_appeal(channel="petition", group_size=12)
    assert appeal.group_size == 12


def test_reports_are_confidential(make_appeal: Any) -> None:
    report = make_appeal(
        kind="report", content="某企业夜间偷排废水，请查处。", actor=user("supervisor")
    )
    with pytest.raises(NotFound):
        services.appeal_dispatch(actor=user("operator"), number=report.number, unit="sthj")
    services.appeal_dispatch(actor=user("supervisor"), number=report.number, unit="sthj")
    services.appeal_claim(actor=user("handler-sthj"), number=report.number)


def test_inactive_user_can_do_nothing(make_appeal: Any) -> None:
    appeal = make_appeal()
    op = user("operator")
    User.objects.filter(pk=op.pk).update(is_active=False)
    op.refresh_from_db()
    with pytest.raises(NotFound):
        services.appeal_dispatch(actor=op, number=appeal.number, unit="zjj")


def test_unknown_number_is_not_found(county: Any) -> None:
    with pytest.raises(NotFound):
        services.appeal_claim(actor=user("handler-zjj"), number="KB20990101-999999")


def test_role_table_covers_every_action() -> None:
    from kuaiban.appeals.policy import ACTION_ROLES

    assert set(ALLOWED_TRANSITIONS) <= set(ACTION_ROLES)
    assert Role.HANDLER not in ACTION_ROLES[Action.DISPATCH]


def _hotline_input() -> services.AppealInput:
    return services.AppealInput(
        channel="hotline", kind="complaint", content="南关社区路灯连续一周不亮，夜间出行不便。"
    )


def test_register_within_refuses_to_run_outside_a_transaction(
    county: Any, monkeypatch: Any
) -> None:
    # Outside a caller's transaction its rows would each commit on their own. (The suite runs
    # every test in a transaction, so "outside" is what the connection reports.)
    from django.db import connections

    monkeypatch.setattr(connections["default"], "in_atomic_block", False)
    with pytest.raises(RuntimeError):
        services.appeal_register_within(actor=user("operator"), data=_hotline_input())
    monkeypatch.undo()
    assert not Appeal.objects.exists()
    appeal = services.appeal_register(actor=user("operator"), data=_hotline_input())
    assert appeal.status == Status.RECEIVED and appeal.events.count() == 1
