"""Visits (走访): problems found become appeals; "my enterprises"; coverage figures."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.utils import timezone

from kuaiban.appeals.models import Appeal, AppealEvent
from kuaiban.core import clock
from kuaiban.enterprise.models import EnterpriseAppeal, EnterpriseVisit

pytestmark = pytest.mark.django_db

TODAY = dt.date(2026, 5, 20)
NOON = timezone.make_aware(dt.datetime(2026, 5, 20, 12, 0))

PROBLEMS = [
    {
        "title": "新厂房用电增容未接电",
        "content": "新厂房需要用电增容至800千伏安，向供电公司报装三个月未接电，影响设备调试。",
    },
    {
        "title": "技术工人招工难",
        "content": "春节后技术工人缺口约30人，希望组织专场招聘会并给予培训补贴。",
        "kind": "help",
    },
]


def visit_body(code: str, **over: Any) -> dict[str, Any]:
    return {
        "credit_code": code,
        "visited_on": TODAY.isoformat(),
        "findings": "走访了解企业生产经营情况，企业反映用电和用工困难。",
        "visitors": ["handler-rsj"],
        "problems": PROBLEMS,
        **over,
    }


def test_an_assigned_official_records_a_visit_and_its_problems_become_appeals(
    api: Any, ent: Any, assign: Any
) -> None:
    e = ent("清河县兴业机械制造有限公司", contact=("王建军", "13905310001"))
    assign("handler-jfj", e)
    with clock.frozen(NOON):
        r = api("handler-jfj").post("/enterprise-visits", visit_body(e.credit_code))
    assert r.status == 201, r.body
    assert r.body["visitors"] == ["handler-jfj", "handler-rsj"]
    assert [a["channel"] for a in r.body["appeals"]] == ["visit", "visit"]
    assert [a["topic"] for a in r.body["appeals"]] == ["utilities", "labour"]
    visit = EnterpriseVisit.objects.get()
    appeals = Appeal.objects.order_by("id")
    assert [a.channel for a in appeals] == ["visit", "visit"]
    for appeal in appeals:
        assert appeal.submitter_type == "enterprise"
        assert appeal.credit_code == e.credit_code and appeal.enterprise_name == e.name
        assert appeal.submitter_phone == "13905310001"
        assert appeal.status == "received"
        link = EnterpriseAppeal.objects.get(appeal=appeal)
        assert link.visit == visit and link.enterprise == e and link.source == "visit"
        event = AppealEvent.objects.get(appeal=appeal, action="register")
        # A handler may not register appeals; the system does, naming who recorded it.
        assert event.actor is None
        assert event.payload["recorded_by"] == "handler-jfj"
        assert event.payload["enterprise_visit"] == visit.pk


def test_one_bad_problem_leaves_no_visit_and_no_appeal(api: Any, ent: Any, assign: Any) -> None:
    e = ent()
    assign("handler-jfj", e)
    body = visit_body(e.credit_code, problems=[PROBLEMS[0], {"content": "  "}])
    with clock.frozen(NOON):
        r = api("handler-jfj").post("/enterprise-visits", body)
    assert r.status == 400
    assert r.body["errors"][0]["field"] == "problems.1.content"
    assert not EnterpriseVisit.objects.exists() and not Appeal.objects.exists()


def test_visit_input_is_checked(api: Any, ent: Any, assign: Any) -> None:
    e = ent()
    assign("handler-jfj", e)
    with clock.frozen(NOON):
        future = api("handler-jfj").post(
            "/enterprise-visits", visit_body(e.credit_code, visited_on="2026-05-21")
        )
        nobody = api("handler-jfj").post(
            "/enterprise-visits", visit_body(e.credit_code, visitors=["无此人"], findings="")
        )
        report = api("handler-jfj").post(
            "/enterprise-visits",
            visit_body(e.credit_code, problems=[{"content": "举报", "kind": "report"}]),
        )
    assert future.status == 400 and future.body["errors"][0]["field"] == "visited_on"
    assert nobody.status == 400
    assert {x["field"] for x in nobody.body["errors"]} == {"visitors", "findings"}
    assert report.status == 400  # confidential reports do not come through visits
    assert not EnterpriseVisit.objects.exists()


def test_only_the_enterprises_officials_or_a_leader_record_visits(
    api: Any, ent: Any, assign: Any
) -> None:
    e = ent()
    assign("handler-jfj", e)
    with clock.frozen(NOON):
        stranger = api("handler-zjj").post("/enterprise-visits", visit_body(e.credit_code))
        operator = api("operator").post(
            "/enterprise-visits", visit_body(e.credit_code, problems=[])
        )
        leader = api("leader").post("/enterprise-visits", visit_body(e.credit_code, problems=[]))
    assert stranger.status == 404  # it does not even exist for them
    assert operator.status == 403  # sees it, but visits are the officials' work
    assert leader.status == 201
    assert EnterpriseVisit.objects.count() == 1


def test_visit_page_registers_one_appeal_per_line(web: Any, ent: Any, assign: Any) -> None:
    e = ent()
    assign("handler-jfj", e)
    client = web("handler-jfj")
    assert client.get(f"/enterprise/{e.credit_code}/visit/").status_code == 200
    with clock.frozen(NOON):
        r = client.post(
            f"/enterprise/{e.credit_code}/visit/",
            {
                "visited_on": "2026-05-19",
                "findings": "企业生产正常，反映两个问题。",
                "problems": "厂房不动产权证一直办不下来。\n\n流动资金贷款需要担保。\n",
                "kind": "help",
            },
        )
    assert r.status_code == 302
    topics = sorted(EnterpriseAppeal.objects.values_list("topic", flat=True))
    assert topics == ["financing", "property"]
    assert web("handler-zjj").get(f"/enterprise/{e.credit_code}/visit/").status_code == 404


def test_my_enterprises_lists_each_with_its_open_problems(
    api: Any, web: Any, ent: Any, assign: Any
) -> None:
    mine = ent("清河县兴业机械制造有限公司")
    other = ent("瑞丰食品有限公司")
    assign("handler-jfj", mine)
    assign("handler-zjj", other)
    with clock.frozen(NOON):
        api("handler-jfj").post("/enterprise-visits", visit_body(mine.credit_code))
        api("handler-zjj").post(
            "/enterprise-visits",
            visit_body(other.credit_code, problems=[{"content": "希望协调解决食品出口检验问题。"}]),
        )
    page = web("handler-jfj").get("/enterprise/mine/").content.decode()
    assert page.count('data-testid="my-enterprise"') == 1
    assert "兴业机械" in page and "新厂房用电增容未接电" in page and "技术工人招工难" in page
    assert "瑞丰食品" not in page and "食品出口" not in page
    assert "2026-05-20" in page  # last visit


def test_coverage_counts_assigned_and_visited_this_quarter(api: Any, ent: Any, assign: Any) -> None:
    a, b, c, d = (ent(f"企业{i}有限公司") for i in "甲乙丙丁")
    assign("handler-jfj", a)
    assign("handler-jfj", b)
    assign("leader", b, duty="包保县领导")
    assign("handler-rsj", c)
    with clock.frozen(NOON):
        api("handler-jfj").post("/enterprise-visits", visit_body(a.credit_code, problems=[]))
        # Visited last quarter: does not count for this one.
        api("handler-rsj").post(
            "/enterprise-visits", visit_body(c.credit_code, visited_on="2026-03-30", problems=[])
        )
        r = api("leader").get("/enterprise-figures")
    assert r.status == 200, r.body
    cov = r.body["coverage"]
    assert cov["enterprises"] == 4
    assert cov["assigned"] == 3 and cov["assigned_pct"] == 75.0
    assert cov["visited_this_quarter"] == 1 and cov["visited_pct"] == 25.0
    assert cov["quarter_from"] == "2026-04-01"
    assert api("handler-jfj").get("/enterprise-figures").status == 403
    assert d.assignments.count() == 0
