"""敲门行动 services and selectors: focus lists, visits (each problem an appeal with channel
``visit``, through the grid report), coverage with exact figures; and every refusal."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from kuaiban.appeals.models import Appeal, Status
from kuaiban.conftest import user
from kuaiban.core.errors import NotFound, PermissionDenied, ValidationFailed
from kuaiban.doors import selectors, services
from kuaiban.doors.models import DoorVisit, FocusList
from kuaiban.doors.tests.common import (
    LAMP,
    QUARTER,
    SMOKE,
    TOWN_TOPICS,
    grid_unit,
    quarter_of_chengguan,
    village_handler,
    visit,
    worker,
)
from kuaiban.org.demo import Directory

pytestmark = pytest.mark.django_db


def figures(row: selectors.CoverageRow) -> tuple[Any, ...]:
    return (row.households, row.visited, row.nobody_home, row.raised, row.appeals)


def test_each_problem_raised_at_a_door_is_an_appeal_led_by_the_grid(
    county: Directory, now: dt.datetime
) -> None:
    services.focus_list_publish(
        actor=user("handler-chengguan"), quarter=QUARTER, topics=TOWN_TOPICS
    )
    services.focus_list_publish(
        actor=user(village_handler(county, 0)), quarter=QUARTER, topics=["小区停车和充电需求"]
    )
    topics = services.topics_for(grid_unit(county, 0), QUARTER)
    assert [(t.number, t.unit.code, t.text) for t in topics] == [
        (1, "chengguan", TOWN_TOPICS[0]),
        (2, "chengguan", TOWN_TOPICS[1]),
        (3, "chengguan", TOWN_TOPICS[2]),
        (4, f"v{county.villages[0].code}", "小区停车和充电需求"),
    ]
    v = visit(
        county,
        0,
        "南关社区3号楼1单元101",
        met="户主王秀兰",
        phone="139 0731 1234",
        raised="楼道灯和油烟两件事",
        answers={1: "燃气灶有熄火保护", 4: "晚上电动车没地方充电", 2: "  "},
        problems=[
            services.ProblemInput(content=LAMP, title="楼道灯坏了"),
            services.ProblemInput(content=SMOKE, kind="complaint"),
        ],
    )
    assert isinstance(v, DoorVisit)
    assert (v.quarter, v.phone, v.household) == (QUARTER, "13907311234", "南关社区3号楼1单元101")
    assert v.answers == [
        {"unit": "chengguan", "topic": TOWN_TOPICS[0], "answer": "燃气灶有熄火保护"},
        {
            "unit": f"v{county.villages[0].code}",
            "topic": "小区停车和充电需求",
            "answer": "晚上电动车没地方充电",
        },
    ]
    opened = list(v.appeals.order_by("id"))
    assert [(a.channel, a.kind, a.status) for a in opened] == [
        ("visit", "help", Status.DISPATCHED),
        ("visit", "complaint", Status.DISPATCHED),
    ]
    for a in opened:
        assert a.lead_unit == grid_unit(county, 0) and a.region == county.grids[0]
        assert (a.address, a.submitter_name, a.submitter_phone) == (
            "南关社区3号楼1单元101",
            "户主王秀兰",
            "13907311234",
        )
        assert [e.action for e in a.events.order_by("seq")] == ["register", "dispatch"]
    assert opened[0].title == "楼道灯坏了"


def test_coverage_per_grid_village_and_township(county: Directory, now: dt.datetime) -> None:
    quarter_of_chengguan(county)
    result = selectors.coverage(user=user("supervisor"), quarter=QUARTER)
    rows = {r.code: r for r in result.rows}
    g = county.grids
    assert figures(rows[g[0].code]) == (120, 2, 1, 2, 3)
    assert rows[g[0].code].coverage == pytest.approx(2 / 120)
    assert figures(rows[g[1].code]) == (80, 3, 0, 0, 0)
    assert figures(rows[g[2].code]) == (100, 0, 0, 0, 0)
    assert figures(rows[g[6].code]) == (0, 1, 0, 0, 0) and rows[g[6].code].coverage is None
    assert figures(rows[county.villages[0].code]) == (200, 5, 1, 2, 3)
    assert figures(rows[county.villages[1].code]) == (100, 0, 0, 0, 0)
    town = rows[county.townships["chengguan"].code]
    assert figures(town) == (300, 5, 1, 2, 3) and town.grids == 6
    assert town.coverage == pytest.approx(5 / 300)
    assert figures(result.total) == (300, 6, 1, 2, 3) and result.total.grids == 46
    assert Appeal.objects.filter(channel="visit").count() == 3
    # Ordered township, its villages, each village's grids.
    assert [r.level for r in result.rows[:4]] == ["township", "village", "grid", "grid"]
    # Another quarter has nothing.
    other = selectors.coverage(user=user("supervisor"), quarter="2026-Q3")
    assert figures(other.total) == (300, 0, 0, 0, 0)


def test_coverage_is_scoped_to_the_reader(county: Directory, now: dt.datetime) -> None:
    quarter_of_chengguan(county)
    town = selectors.coverage(user=user("handler-chengguan"), quarter=QUARTER)
    assert len(town.rows) == 1 + 3 + 6 and figures(town.total) == (300, 5, 1, 2, 3)
    village = selectors.coverage(user=user(village_handler(county, 0)), quarter=QUARTER)
    assert [(r.level, r.code) for r in village.rows] == [
        ("village", county.villages[0].code),
        ("grid", county.grids[0].code),
        ("grid", county.grids[1].code),
    ]
    assert figures(village.total) == (200, 5, 1, 2, 3)
    leader = selectors.coverage(user=user("leader"), quarter=QUARTER)
    assert figures(leader.total) == (300, 6, 1, 2, 3)
    for refused in ("handler-zjj", "operator", "visitor", worker(county, 0)):
        with pytest.raises(PermissionDenied):
            selectors.coverage(user=user(refused), quarter=QUARTER)


def test_a_grid_worker_records_only_in_its_own_grid(county: Directory, now: dt.datetime) -> None:
    sibling = grid_unit(county, 1).code
    with pytest.raises(PermissionDenied, match="网格员只能记录本网格的走访"):
        visit(
            county,
            0,
            "南关社区8号楼101",
            met="住户",
            grid=sibling,
            problems=[services.ProblemInput(content=LAMP)],
        )
    with pytest.raises(NotFound):
        visit(county, 0, "南关社区8号楼101", met="住户", grid="g-nowhere")
    for refused in ("handler-chengguan", "supervisor", "admin"):
        with pytest.raises(PermissionDenied):
            services.door_visit_record(
                actor=user(refused),
                data=services.VisitInput(address="南关社区8号楼101", met="住户"),
            )
    assert DoorVisit.objects.count() == 0 and Appeal.objects.count() == 0


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"address": " ", "met": "住户"}, "address"),
        ({"address": "8号楼101"}, "met"),
        ({"address": "8号楼101", "met": "住户", "phone": "12345"}, "phone"),
        ({"address": "8号楼101", "nobody_home": True, "raised": "有人说"}, "nobody_home"),
        ({"address": "8号楼101", "met": "住户", "answers": {9: "无"}}, "answers.9"),
        (
            {
                "address": "8号楼101",
                "met": "住户",
                "problems": [services.ProblemInput(content=LAMP, kind="report")],
            },
            "problems.0.kind",
        ),
        (
            {
                "address": "8号楼101",
                "met": "住户",
                "problems": [
                    services.ProblemInput(content=LAMP),
                    services.ProblemInput(content=""),
                ],
            },
            "problems.1.content",
        ),
        (
            {
                "address": "8号楼101",
                "met": "住户",
                "problems": [services.ProblemInput(content=LAMP, title="灯" * 121)],
            },
            "problems.0.title",
        ),
    ],
)
def test_a_bad_visit_names_its_field_and_writes_nothing(
    county: Directory, now: dt.datetime, fields: dict[str, Any], field: str
) -> None:
    with pytest.raises(ValidationFailed) as caught:
        visit(county, 0, **fields)
    assert [e.field for e in caught.value.errors] == [field]
    assert DoorVisit.objects.count() == 0 and Appeal.objects.count() == 0


def test_a_village_publishes_only_for_itself(county: Directory, now: dt.datetime) -> None:
    mine = village_handler(county, 0)
    other = f"v{county.villages[1].code}"
    with pytest.raises(PermissionDenied):
        services.focus_list_publish(actor=user(mine), quarter=QUARTER, topics=["停车"], unit=other)
    for refused in ("handler-zjj", "supervisor", "leader", worker(county, 0)):
        with pytest.raises(PermissionDenied):
            services.focus_list_publish(actor=user(refused), quarter=QUARTER, topics=["停车"])
    with pytest.raises(PermissionDenied):  # an administrator names the unit
        services.focus_list_publish(actor=user("admin"), quarter=QUARTER, topics=["停车"])
    assert FocusList.objects.count() == 0
    first = services.focus_list_publish(actor=user(mine), quarter=QUARTER, topics=["停车", "充电"])
    again = services.focus_list_publish(actor=user(mine), quarter=QUARTER, topics=["充电"])
    assert first.pk == again.pk and FocusList.objects.get().topics == ["充电"]
    by_admin = services.focus_list_publish(
        actor=user("admin"), quarter="2027-Q1", topics=["春耕"], unit=other
    )
    assert by_admin.unit.code == other


@pytest.mark.parametrize(
    ("quarter", "topics", "field"),
    [
        ("2026-Q5", ["停车"], "quarter"),
        ("26-Q4", ["停车"], "quarter"),
        ("2026-Q3", ["停车"], "quarter"),  # past
        ("2027-Q2", ["停车"], "quarter"),  # two ahead
        (QUARTER, [], "topics"),
        (QUARTER, ["停车", " 停车 "], "topics"),
        (QUARTER, [f"问题{i}" for i in range(11)], "topics"),
        (QUARTER, ["长" * 201], "topics.0"),
    ],
)
def test_a_bad_focus_list_names_its_field(
    county: Directory, now: dt.datetime, quarter: str, topics: list[str], field: str
) -> None:
    with pytest.raises(ValidationFailed) as caught:
        services.focus_list_publish(actor=user("handler-chengguan"), quarter=quarter, topics=topics)
    assert [e.field for e in caught.value.errors] == [field]
    assert FocusList.objects.count() == 0


def test_phones_are_masked_for_readers_who_do_not_call_back(
    county: Directory, now: dt.datetime
) -> None:
    quarter_of_chengguan(county)
    code = grid_unit(county, 0).code

    def phones(username: str) -> list[str]:
        page = selectors.grid_visits(user=user(username), grid_code=code, quarter=QUARTER)
        return [v.phone for v in page.visits if v.phone]

    assert phones(worker(county, 0)) == ["13812345678", "13907311234"]
    assert phones("supervisor") == ["13812345678", "13907311234"]
    for masked in ("handler-chengguan", village_handler(county, 0), "leader", "admin"):
        assert phones(masked) == ["138****5678", "139****1234"]
    for refused in (worker(county, 1), "handler-zjj", "handler-dongcheng", "operator"):
        with pytest.raises(PermissionDenied):
            selectors.grid_visits(user=user(refused), grid_code=code, quarter=QUARTER)
