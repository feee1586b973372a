"""Livelihood projects over HTTP: listing, progress by the owner unit only, the public chart."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from kuaiban.core import clock
from kuaiban.org.models import User
from kuaiban.projects.models import ProgressUpdate, Project

pytestmark = pytest.mark.django_db

JAN = timezone.make_aware(dt.datetime(2026, 1, 10, 10))
JUL = timezone.make_aware(dt.datetime(2026, 7, 15, 16))

RENOVATION = {
    "year": 2026,
    "name": "城区老旧小区改造",
    "owner_unit": "zjj",
    "target": "完成12个老旧小区改造，惠及居民2860户。",
    "budget": "8600",
    "milestones": [
        {"title": "完成设计和施工招标", "due": "2026-03-31"},
        {"title": "6个小区开工", "due": "2026-06-30"},
        {"title": "全部通过验收", "due": "2026-12-15"},
    ],
}


def web(username: str | None) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
    if username:
        client.force_login(User.objects.get(username=username))
    return client


def create(api: Any, **over: Any) -> dict[str, Any]:
    with clock.frozen(JAN):
        r = api("leader").post("/projects", {**RENOVATION, **over})
    assert r.status == 201, r.body
    return dict(r.body)


def test_the_leaders_office_lists_the_years_projects(api: Any) -> None:
    body = create(api)
    assert body["seq"] == 1 and body["owner_unit"]["code"] == "zjj"
    assert body["budget"] == "8600.00" and body["progress"] == 0
    assert body["milestones"][0]["title"] == "完成设计和施工招标"
    second = create(api, name="新建城区第三小学", owner_unit="jyj", milestones=[])
    assert second["seq"] == 2
    with clock.frozen(JAN):
        assert api("handler-zjj").post("/projects", RENOVATION).status == 403
        assert api("operator").post("/projects", RENOVATION).status == 403
        bad = api("leader").post(
            "/projects",
            {
                **RENOVATION,
                "owner_unit": "nosuch",
                "budget": "-5",
                "milestones": [{"title": "", "due": "2027-01-10"}],
            },
        )
    assert bad.status == 400
    assert {e["field"] for e in bad.body["errors"]} == {
        "owner_unit",
        "budget",
        "milestones.0.title",
        "milestones.0.due",
    }
    assert Project.objects.count() == 2


def test_only_the_owner_units_handlers_report_progress(api: Any) -> None:
    project = create(api)
    first = project["milestones"][0]["id"]
    with clock.frozen(JUL):
        for username in ("handler-jyj", "leader", "supervisor", "operator"):
            denied = api(username).post(
                f"/projects/{project['id']}/progress", {"progress": 50, "note": "擅自更新"}
            )
            assert denied.status == 403, username
        r = api("handler-zjj").post(
            f"/projects/{project['id']}/progress",
            {"progress": 45, "note": "6个小区已全部开工，完成工程量45%。", "milestone": first},
        )
    assert r.status == 200, r.body
    assert r.body["progress"] == 45 and r.body["status_note"].startswith("6个小区")
    assert r.body["milestones"][0]["done_on"] == "2026-07-15"
    assert r.body["updates"][0]["progress_from"] == 0 and r.body["updates"][0]["progress_to"] == 45
    assert ProgressUpdate.objects.count() == 1


def test_progress_input_is_checked(api: Any) -> None:
    project = create(api)
    url = f"/projects/{project['id']}/progress"
    with clock.frozen(JUL):
        over = api("handler-zjj").post(url, {"progress": 120, "note": "超了"})
        silent = api("handler-zjj").post(url, {"progress": 0, "note": "没有变化"})
        no_note = api("handler-zjj").post(url, {"progress": 30, "note": " "})
        foreign = create(api, name="新建城区第三小学", owner_unit="jyj")["milestones"][0]["id"]
        wrong = api("handler-zjj").post(url, {"note": "节点", "milestone": foreign})
    assert over.status == 400 and over.body["errors"][0]["field"] == "progress"
    assert silent.status == 400 and "没有变化" in silent.body["detail"]
    assert no_note.status == 400 and no_note.body["errors"][0]["field"] == "note"
    assert wrong.status == 400 and wrong.body["errors"][0]["field"] == "milestone"
    assert not ProgressUpdate.objects.exists()


def test_a_missed_milestone_marks_the_project_behind_schedule(api: Any) -> None:
    project = create(api)
    with clock.frozen(JUL):
        api("handler-zjj").post(
            f"/projects/{project['id']}/progress", {"progress": 30, "note": "进展顺利"}
        )
        listed = api(None).get("/projects", year=2026)
    assert listed.status == 200
    (row,) = listed.body
    # The March and June milestones are past and not reached.
    assert row["status"] == "delayed"
    assert [m["overdue"] for m in row["milestones"]] == [True, True, False]


def test_public_progress_chart_needs_no_login(api: Any) -> None:
    project = create(api)
    create(api, name="新建城区第三小学", owner_unit="jyj", milestones=[])
    now = timezone.now()
    with clock.frozen(now - dt.timedelta(days=2)):
        api("handler-zjj").post(
            f"/projects/{project['id']}/progress",
            {"progress": 60, "note": "12个小区中已有8个完成外立面改造。"},
        )
    Project.objects.update(year=timezone.localdate(now).year)
    page = web(None).get("/projects/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "民生实事进度图" in html
    assert "城区老旧小区改造" in html and "新建城区第三小学" in html
    assert "/static/vendor/plotly.min.js" in html and 'id="chart-data"' in html
    assert 'name="viewport"' in html  # phone-friendly layout
    assert "12个小区中已有8个完成外立面改造" in html  # what changed recently
    assert "0% → 60%" in html


def test_plotly_is_served_from_the_installed_package() -> None:
    response = Client().get("/static/vendor/plotly.min.js")
    assert response.status_code == 200
    head = b"".join(response.streaming_content)[:2000]  # type: ignore[attr-defined]
    assert b"plotly" in head.lower()


def test_staff_pages(api: Any) -> None:
    project = create(api)
    assert web(None).get("/projects/admin/").status_code == 302  # staff pages need a login
    listing = web("handler-jyj").get("/projects/admin/?year=2026").content.decode()
    assert "城区老旧小区改造" in listing
    detail = web("handler-zjj").get(f"/projects/admin/{project['id']}/").content.decode()
    assert 'data-action="progress"' in detail
    other = web("handler-jyj").get(f"/projects/admin/{project['id']}/").content.decode()
    assert 'data-action="progress"' not in other and "进度由住建局的经办人填报" in other
    with clock.frozen(JUL):
        denied = web("handler-jyj").post(
            f"/projects/admin/{project['id']}/progress/",
            {"progress-progress": "50", "progress-note": "擅自更新"},
        )
        done = web("handler-zjj").post(
            f"/projects/admin/{project['id']}/progress/",
            {"progress-progress": "50", "progress-note": "过半"},
        )
        assigned = web("leader").post(
            f"/projects/admin/{project['id']}/assign/",
            {"assign-official": "leader", "assign-duty": "包保县领导"},
        )
    assert denied.status_code == 403
    assert done.status_code == 302
    assert assigned.status_code == 302
    assert Project.objects.get().progress == 50
    assert Project.objects.get().assignments.get().official.username == "leader"
