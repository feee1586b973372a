"""/api/v1/doors: coverage with exact figures, publishing a focus list, recording a visit; and
the refusals (another grid, another village, roles without business there)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from kuaiban.appeals.models import Appeal
from kuaiban.doors.models import DoorVisit, FocusList
from kuaiban.doors.tests.common import (
    LAMP,
    QUARTER,
    grid_unit,
    quarter_of_chengguan,
    village_handler,
    worker,
)
from kuaiban.org.demo import Directory

pytestmark = pytest.mark.django_db


def test_coverage_of_a_quarter(api: Any, county: Directory, now: dt.datetime) -> None:
    quarter_of_chengguan(county)
    r = api("supervisor").get("/doors/coverage", quarter=QUARTER)
    assert r.status == 200, r.body
    assert r.body["quarter"] == QUARTER
    assert r.body["total"] == {
        "level": "county",
        "code": "",
        "name": "",
        "parent": None,
        "unit": None,
        "grids": 46,
        "households": 300,
        "visited": 6,
        "coverage": 0.02,
        "nobody_home": 1,
        "raised": 2,
        "appeals": 3,
    }
    rows = {row["code"]: row for row in r.body["rows"]}
    town = rows[county.townships["chengguan"].code]
    assert (town["unit"], town["households"], town["visited"], town["coverage"]) == (
        "chengguan",
        300,
        5,
        0.0167,
    )
    grid = rows[county.grids[0].code]
    assert (grid["unit"], grid["visited"], grid["coverage"], grid["appeals"]) == (
        grid_unit(county, 0).code,
        2,
        0.0167,
        3,
    )
    assert rows[county.grids[6].code]["coverage"] is None
    # The township's handler: its own township only.
    r = api("handler-chengguan").get("/doors/coverage", quarter=QUARTER)
    assert r.status == 200 and len(r.body["rows"]) == 10
    assert r.body["total"]["visited"] == 5
    # No quarter: the current one.
    assert api("leader").get("/doors/coverage").body["quarter"] == QUARTER


def test_coverage_refusals(api: Any, county: Directory, now: dt.datetime) -> None:
    for username in ("handler-zjj", "operator", "visitor", worker(county, 0)):
        r = api(username).get("/doors/coverage", quarter=QUARTER)
        assert r.status == 403, (username, r.body)
    assert api(None).get("/doors/coverage").status == 401
    r = api("supervisor").get("/doors/coverage", quarter="2026-Q5")
    assert r.status == 400 and r.body["errors"][0]["field"] == "quarter"


def test_a_grid_worker_records_a_visit_in_its_grid(
    api: Any, county: Directory, now: dt.datetime
) -> None:
    mine = grid_unit(county, 0).code
    body = {
        "grid": mine,
        "address": "南关社区3号楼1单元101",
        "met": "户主王秀兰",
        "phone": "13907311234",
        "raised": "楼道灯坏了",
        "problems": [{"content": LAMP, "kind": "help", "title": "楼道灯坏了"}],
    }
    r = api(worker(county, 0)).post("/doors/visits", body)
    assert r.status == 201, r.body
    appeal = Appeal.objects.get()
    assert r.body["appeals"] == [appeal.number] and r.body["phone"] == "13907311234"
    assert (appeal.channel, appeal.lead_unit_id) == ("visit", grid_unit(county, 0).pk)
    # The same visit posted in the neighbouring grid, by its neighbour: 403, nothing written.
    r = api(worker(county, 1)).post("/doors/visits", body)
    assert r.status == 403 and r.body["detail"] == "网格员只能记录本网格的走访。"
    r = api("handler-chengguan").post("/doors/visits", {**body, "grid": None})
    assert r.status == 403
    assert DoorVisit.objects.count() == 1 and Appeal.objects.count() == 1
    # Bad input: 400 naming the field, nothing written.
    r = api(worker(county, 0)).post(
        "/doors/visits", {**body, "problems": [{"content": LAMP, "kind": "report"}]}
    )
    assert r.status == 400 and r.body["errors"][0]["field"] == "problems.0.kind"
    r = api(worker(county, 0)).post("/doors/visits", {**body, "colour": "red"})
    assert r.status == 400
    assert DoorVisit.objects.count() == 1 and Appeal.objects.count() == 1


def test_the_grid_visits_masked_for_the_township(
    api: Any, county: Directory, now: dt.datetime
) -> None:
    quarter_of_chengguan(county)
    path = f"/doors/grids/{grid_unit(county, 0).code}/visits"
    mine = api(worker(county, 0)).get(path, quarter=QUARTER)
    assert mine.status == 200 and [v["phone"] for v in mine.body if v["phone"]] == [
        "13812345678",
        "13907311234",
    ]
    town = api("handler-chengguan").get(path, quarter=QUARTER)
    assert [v["phone"] for v in town.body if v["phone"]] == ["138****5678", "139****1234"]
    assert len(town.body) == 5
    assert api(worker(county, 1)).get(path).status == 403
    assert api("handler-dongcheng").get(path).status == 403
    assert api("supervisor").get("/doors/grids/g-nowhere/visits").status == 404


def test_publishing_a_focus_list(api: Any, county: Directory, now: dt.datetime) -> None:
    mine = village_handler(county, 0)
    other = f"v{county.villages[1].code}"
    r = api(mine).post("/doors/focus-lists", {"quarter": QUARTER, "topics": ["停车", "充电"]})
    assert r.status == 201, r.body
    assert (r.body["unit"], r.body["topics"]) == (f"v{county.villages[0].code}", ["停车", "充电"])
    r = api(mine).post(
        "/doors/focus-lists", {"quarter": QUARTER, "topics": ["停车"], "unit": other}
    )
    assert r.status == 403 and r.body["detail"] == "单位只能发布本单位的重点清单。"
    assert (
        api("handler-zjj")
        .post("/doors/focus-lists", {"quarter": QUARTER, "topics": ["停车"]})
        .status
        == 403
    )
    r = api("admin").post(
        "/doors/focus-lists", {"quarter": QUARTER, "topics": ["停车"], "unit": other}
    )
    assert r.status == 201 and r.body["unit"] == other
    r = api("admin").post(
        "/doors/focus-lists", {"quarter": QUARTER, "topics": ["停车"], "unit": "zjj"}
    )
    assert r.status == 400 and r.body["errors"][0]["field"] == "unit"
    assert FocusList.objects.count() == 2
