"""The routing API: suggestions (also in the create answer), similar appeals, hot issues and the
override counts, with their denials and 400s."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from kuaiban.appeals import services as appeals
from kuaiban.appeals.models import Appeal, Category
from kuaiban.org.demo import Directory
from kuaiban.routing.models import RoutingSettings, Suggestion
from kuaiban.routing.tests.conftest import labelled, sample_rows

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("routing_env")]

SCHOOL_FEES = {
    "channel": "hotline",
    "kind": "complaint",
    "title": "城关二小乱收费",
    "content": "学校开学让每个学生交三百元资料费，不开收据，请教育局查处。",
    "submitter": {"name": "王建华", "phone": "13812345678"},
}


def test_create_answer_carries_suggestions(api: Any, active_models: Any) -> None:
    r = api("operator").post("/appeals", SCHOOL_FEES)
    assert r.status == 201, r.body
    found = r.body["suggestions"]
    assert found["categories"][0]["name"] == "教育文体"
    assert found["categories"][0]["code"] == Category.objects.get(level=1, name="教育文体").code
    probabilities = [c["probability"] for c in found["categories"]]
    assert len(probabilities) == 3 and probabilities == sorted(probabilities, reverse=True)
    assert 0 < sum(probabilities) <= 1.0001
    assert found["units"][0] == {
        "code": "jyj",
        "name": "教育局",
        "probability": found["units"][0]["probability"],
    }
    assert len(found["units"]) == 3
    assert found["models"] == {"category": "category-test", "unit": "unit-test"}
    assert found["confident"] == {"category": True, "unit": True}
    # A retry with the same Idempotency-Key answers the same appeal with the same suggestions.
    key = {"Idempotency-Key": "3f0c1d7e-5b6a-4c1e-9d2f-1a2b3c4d5e6f"}
    first = api("operator").post("/appeals", SCHOOL_FEES, headers=key)
    again = api("operator").post("/appeals", SCHOOL_FEES, headers=key)
    assert (first.status, again.status) == (201, 200)
    assert again.body["suggestions"] == first.body["suggestions"] == found


def test_create_answer_without_models_has_empty_suggestions(api: Any, county: Directory) -> None:
    r = api("operator").post("/appeals", SCHOOL_FEES)
    assert r.status == 201
    assert r.body["suggestions"] == {
        "categories": [],
        "units": [],
        "models": {"category": None, "unit": None},
        "threshold": 0.5,
        "confident": {"category": False, "unit": False},
    }


def test_suggest(api: Any, active_models: Any) -> None:
    r = api("operator").post("/suggest", {"text": "化工厂晚上偷排废气，气味刺鼻，河水也被污染了"})
    assert r.status == 200
    assert r.body["categories"][0]["name"] == "环境保护"
    assert r.body["units"][0]["code"] == "sthj"
    assert api("supervisor").post("/suggest", {"text": "暖气不热"}).status == 200


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "text"),
        ({"text": "字" * 6000}, "text"),
    ],
)
def test_suggest_refuses_bad_input(api: Any, active_models: Any, body: Any, field: str) -> None:
    r = api("operator").post("/suggest", body)
    assert r.status == 400
    assert r.body["errors"][0]["field"] == field and r.body["detail"]


def test_suggest_denials(api: Any, county: Directory) -> None:
    assert api("handler-zjj").post("/suggest", {"text": "暖气不热"}).status == 403
    assert api("leader").post("/suggest", {"text": "暖气不热"}).status == 403
    assert api(None).post("/suggest", {"text": "暖气不热"}).status == 401


@pytest.mark.usefixtures("background")
def test_similar_to_an_appeal_is_role_scoped(api: Any, make_appeal: Any, county: Directory) -> None:
    water = labelled("water")
    first = make_appeal(title="桃源镇自来水发黄", content=water[0])
    make_appeal(title="", content=water[1])
    make_appeal(title="", content=labelled("")[0])  # the lift: unrelated
    # A confidential report about the same water: only supervisors see it.
    report = make_appeal(kind="report", content=water[3], actor=county.users["supervisor"])
    appeals.appeal_dispatch(actor=county.users["operator"], number=first.number, unit="swj")

    r = api("operator").get(f"/appeals/{first.number}/similar")
    assert r.status == 200
    assert [s["status"] for s in r.body] == ["received"]
    assert r.body[0]["score"] > 0.1 and r.body[0]["same_region"] is True
    numbers = [s["number"] for s in api("supervisor").get(f"/appeals/{first.number}/similar").body]
    assert report.number in numbers and first.number not in numbers
    # The lead unit's handler sees the appeal but none of the others (not theirs).
    assert api("handler-swj").get(f"/appeals/{first.number}/similar").body == []
    assert api("handler-zjj").get(f"/appeals/{first.number}/similar").status == 404

    r = api("operator").post("/similar", {"text": water[2], "region": county.villages[0].code})
    assert {s["number"] for s in r.body} >= {first.number}
    bad = api("operator").post("/similar", {"text": water[2], "region": "999"})
    assert bad.status == 400 and bad.body["errors"][0]["field"] == "region"
    assert api("operator").post("/similar", {"text": " "}).status == 400


def _water_issue(body: Any) -> Any:
    [issue] = [i for i in body["issues"] if {"自来水", "水质"} & set(i["terms"])]
    return issue


def test_hot_issues_shape(
    api: Any, make_appeal: Any, county: Directory, closed_ledger: Any
) -> None:
    closed_ledger(sample_rows(), days_ago=1)  # the period's other appeals
    water = [make_appeal(title="", content=text) for text in labelled("water")]
    for text in labelled("")[:6]:
        make_appeal(title="", content=text)
    today = dt.date.today()
    r = api("operator").get("/hot-issues", **{"from": str(today - dt.timedelta(days=6))})
    assert r.status == 200, r.body
    assert r.body["period"] == {
        "from": str(today - dt.timedelta(days=6)),
        "to": str(today),
        "appeals": 130,
    }
    assert r.body["previous"]["to"] == str(today - dt.timedelta(days=7))
    assert r.body["previous"]["appeals"] == 0
    issue = _water_issue(r.body)
    # Three or four of the four reports, and nothing else.
    assert issue["size"] >= 3 and issue["new"] is True and issue["growth"] is None
    assert issue["label"] == " ".join(issue["terms"])
    assert {a["number"] for a in issue["appeals"]} <= {a.number for a in water}
    assert issue["regions"] == [
        {"code": county.townships["chengguan"].code, "name": "城关镇", "count": issue["size"]}
    ]
    assert issue["units"] == []  # not dispatched yet
    assert set(issue["appeals"][0]) == {"number", "title", "status", "received_at"}
    sizes = [i["size"] for i in r.body["issues"]]
    assert sizes == sorted(sizes, reverse=True)
    assert api("leader").get("/hot-issues").status == 200


def test_hot_issues_growth(
    api: Any, make_appeal: Any, county: Directory, closed_ledger: Any
) -> None:
    from kuaiban.core import clock

    water = labelled("water")
    closed_ledger(sample_rows(0), days_ago=8)
    with clock.frozen(clock.now() - dt.timedelta(days=8)):
        for text in (water[0], water[3]):
            make_appeal(title="", content=text)
    closed_ledger(sample_rows(1), days_ago=1)
    for text in water:
        make_appeal(title="", content=text)
    issue = _water_issue(api("supervisor").get("/hot-issues").body)
    assert issue["previous_size"] == 2 and issue["new"] is False
    assert issue["growth"] == pytest.approx((issue["size"] - 2) / 2)


def test_hot_issues_denials_and_bad_input(api: Any, county: Directory) -> None:
    r = api("handler-zjj").get("/hot-issues")
    assert r.status == 403 and r.body["detail"]
    assert api(None).get("/hot-issues").status == 401
    assert (
        api("operator").get("/hot-issues", **{"from": "2026-11-20", "to": "2026-11-01"}).status
        == 400
    )
    assert (
        api("operator").get("/hot-issues", **{"from": "2020-01-01", "to": "2026-11-01"}).status
        == 400
    )
    bad = api("operator").get("/hot-issues", **{"from": "yesterday"})
    assert bad.status == 400 and bad.body["errors"][0]["field"] == "from"


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        ("/hot-issues", {"to": "9999-12-31"}, "to"),
        ("/hot-issues", {"from": "0001-01-01"}, "from"),
        ("/hot-issues", {"to": "0001-01-01"}, "to"),
        ("/routing/overrides", {"to": "9999-12-31"}, "to"),
    ],
)
def test_periods_at_the_calendars_ends_are_400(
    api: Any, county: Directory, path: str, params: dict[str, str], field: str
) -> None:
    r = api("leader").get(path, **params)
    assert r.status == 400, r.body
    assert r.body["errors"][0]["field"] == field and "1900" in r.body["errors"][0]["message"]


def test_overrides(
    api: Any, active_models: Any, county: Directory, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        followed = api("operator").post("/appeals", SCHOOL_FEES).body["number"]
        other = (
            api("operator").post("/appeals", {**SCHOOL_FEES, "title": "校外补习"}).body["number"]
        )
    assert Suggestion.objects.count() == 2
    with django_capture_on_commit_callbacks(execute=True):
        assert api("operator").post(f"/appeals/{followed}/dispatch", {"unit": "jyj"}).status == 200
        assert (
            api("operator").post(f"/appeals/{other}/dispatch", {"unit": "chengguan"}).status == 200
        )
    r = api("leader").get("/routing/overrides")
    assert r.status == 200
    [row] = r.body["units"]
    assert row == {
        "code": "jyj",
        "name": "教育局",
        "suggested": 2,
        "dispatched": 2,
        "followed": 1,
        "overridden": 1,
        "override_rate": 0.5,
        "auto": 0,
    }
    assert r.body["totals"]["overridden"] == 1
    assert api("handler-jyj").get("/routing/overrides").status == 403
    assert api("visitor").get("/routing/overrides").status == 403


def test_automatic_dispatch_by_the_system_user(
    api: Any, active_models: Any, county: Directory, django_capture_on_commit_callbacks: Any
) -> None:
    RoutingSettings.objects.create(pk=1, auto_dispatch=True, threshold=0.5)
    with django_capture_on_commit_callbacks(execute=True):
        r = api("operator").post("/appeals", SCHOOL_FEES)
    appeal = Appeal.objects.get(number=r.body["number"])
    p = r.body["suggestions"]["units"][0]["probability"]
    assert p >= 0.5
    assert appeal.status == "dispatched" and appeal.lead_unit.code == "jyj"
    event = appeal.events.get(action="dispatch")
    assert event.actor.username == "system" and event.actor_label == "系统"
    assert event.payload["auto"] is True and event.payload["unit"] == "jyj"
    assert event.payload["model"] == "unit-test"
    suggestion = Suggestion.objects.get(appeal=appeal)
    assert suggestion.auto_unit.code == "jyj" and suggestion.dispatched_unit is None
    assert api("leader").get("/routing/overrides").body["totals"]["auto"] == 1
    # Above the threshold only; confidential reports never.
    RoutingSettings.objects.filter(pk=1).update(threshold=1.0)
    with django_capture_on_commit_callbacks(execute=True):
        r = api("operator").post("/appeals", SCHOOL_FEES)
    assert Appeal.objects.get(number=r.body["number"]).status == "received"
    RoutingSettings.objects.filter(pk=1).update(threshold=0.5)
    with django_capture_on_commit_callbacks(execute=True):
        r = api("supervisor").post("/appeals", {**SCHOOL_FEES, "kind": "report"})
    assert Appeal.objects.get(number=r.body["number"]).status == "received"


def test_hook_failure_never_fails_the_registration(
    api: Any,
    active_models: Any,
    county: Directory,
    django_capture_on_commit_callbacks: Any,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    from kuaiban.routing import services

    def broken(**kwargs: Any) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(services, "suggestion_record", broken)
    with django_capture_on_commit_callbacks(execute=True):
        r = api("operator").post("/appeals", SCHOOL_FEES)
    assert r.status == 201 and Appeal.objects.filter(number=r.body["number"]).exists()
    assert "after-commit hook on_appeal_event failed" in caplog.text
