"""Shared data of the 敲门行动 tests: a quarter in 城关镇, hand-built."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from kuaiban.conftest import user
from kuaiban.doors import services
from kuaiban.doors.models import GridHouseholds
from kuaiban.org.demo import Directory
from kuaiban.org.models import Unit

# Thursday 19 November 2026, 10:00 in the county: the fourth quarter.
NOW = dt.datetime(2026, 11, 19, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
QUARTER = "2026-Q4"
TOWN_TOPICS = ["冬季取暖和燃气使用是否安全", "家中老人近况与困难", "对社区环境卫生的意见"]
LAMP = "3号楼1单元楼道灯坏了一个多月，晚上老人上下楼看不见，希望尽快修好。"
SMOKE = "楼下烧烤店油烟直排进楼道，夏天窗户都不能开，希望有关部门管一管。"
WATER = "五楼以上白天水压太低，基本没水，做饭洗衣都困难。"


def grid_unit(county: Directory, index: int) -> Unit:
    return county.units[f"g{county.grids[index].code}"]


def worker(county: Directory, index: int) -> str:
    return f"grid-{county.grids[index].code}"


def village_handler(county: Directory, index: int) -> str:
    return f"handler-v{county.villages[index].code}"


def households(county: Directory, counts: dict[int, int]) -> None:
    for index, n in counts.items():
        GridHouseholds.objects.create(grid=grid_unit(county, index), households=n)


def visit(county: Directory, index: int, address: str, **fields: object) -> object:
    return services.door_visit_record(
        actor=user(worker(county, index)),
        data=services.VisitInput(address=address, **fields),  # type: ignore[arg-type]
    )


def quarter_of_chengguan(county: Directory) -> None:
    """The visits the coverage tests count (grids 0 and 1: 南关社区; 2: 北街社区; 6: 滨河社区,
    东城街道):

    - grid 0 (120 households): 101 met with one problem, 102 nobody home then met with two
      problems, 101 again (counts once), 5号楼201 nobody home → visited 2, nobody home 1,
      raised 2, appeals 3;
    - grid 1 (80 households): three households met, nothing raised → visited 3;
    - grid 2 (100 households): no visit; grid 6 (no household count): one household met.
    """
    households(county, {0: 120, 1: 80, 2: 100})
    services.focus_list_publish(
        actor=user("handler-chengguan"), quarter=QUARTER, topics=TOWN_TOPICS
    )
    problem = services.ProblemInput
    visit(
        county,
        0,
        "南关社区3号楼1单元101",
        met="户主王秀兰",
        phone="13907311234",
        problems=[problem(content=LAMP)],
        answers={1: "燃气灶有熄火保护"},
    )
    visit(county, 0, "南关社区3号楼1单元102", nobody_home=True)
    visit(county, 0, "南关社区 3号楼 1单元 101", met="户主王秀兰", raised="灯已报修，再来看看")
    visit(
        county,
        0,
        "南关社区3号楼1单元102",
        met="住户李建国",
        phone="13812345678",
        problems=[problem(content=SMOKE, kind="complaint"), problem(content=WATER)],
    )
    visit(county, 0, "南关社区5号楼201", nobody_home=True)
    for door in ("南关社区8号楼101", "南关社区8号楼102", "南关社区8号楼201"):
        visit(county, 1, door, met="住户")
    visit(county, 6, "滨河社区2号楼301", met="户主张桂芳")
