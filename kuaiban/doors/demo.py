"""Demo data for 敲门行动: this quarter's focus list of each demo township (and two villages),
each grid's household count, and visits so far (bulk; a few problems raised through the real
service, each an appeal with channel ``visit``)."""

from __future__ import annotations

import datetime as dt
import random

from django.utils import timezone

from kuaiban.core import clock
from kuaiban.doors import services
from kuaiban.doors.models import DoorVisit, FocusList, GridHouseholds
from kuaiban.org.demo import Directory, grid_unit_code, grid_worker_username, village_unit_code
from kuaiban.org.models import Unit, User

TOWNSHIP_TOPICS = [
    "冬季取暖和燃气使用是否安全",
    "家中老人、留守儿童近况与困难",
    "对社区（村）环境卫生的意见",
]
VILLAGE_TOPICS = {0: ["小区停车和电动车充电需求"], 3: ["今年农作物收成和农资价格"]}
PEOPLE = ["户主王大妈", "住户李建国", "租户小张", "户主陈阿姨", "住户刘师傅", "户主赵大爷"]
ANSWERS = ["燃气灶有熄火保护，安全", "老人独居，希望多来看看", "垃圾清运及时", "暂无困难"]
PROBLEMS = [
    ("help", "楼道灯坏了一个多月，晚上老人上下楼不方便，希望尽快修好。"),
    ("complaint", "楼下烧烤店油烟直排，夏天窗户都不能开，希望有关部门管一管。"),
    ("suggestion", "建议在小区门口增设一个公交站点，老人去医院太远。"),
    ("help", "自来水水压太低，五楼以上白天基本没水。"),
    ("consultation", "想咨询一下城乡居民医保明年的缴费标准和缴费方式。"),
    ("help", "村口排水沟堵塞，下雨就淹到路面，希望清淤。"),
]


def load(directory: Directory, *, seed: int, with_appeals: bool) -> str:
    rng = random.Random(seed)
    now = clock.now()
    quarter = services.quarter_of(now)
    users = directory.users
    units = directory.units
    lists = 0
    for code in directory.townships:
        _publish(f"handler-{code}", quarter, TOWNSHIP_TOPICS, users, units[code])
        lists += 1
    for index, topics in VILLAGE_TOPICS.items():
        village = directory.villages[index]
        code = village_unit_code(village)
        _publish(f"handler-{code}", quarter, topics, users, units[code])
        lists += 1
    grids = [units[grid_unit_code(g)] for g in directory.grids]
    have = set(GridHouseholds.objects.values_list("grid_id", flat=True))
    GridHouseholds.objects.bulk_create(
        GridHouseholds(grid=g, households=rng.randrange(120, 320, 10))
        for g in grids
        if g.pk not in have
    )
    if DoorVisit.objects.filter(quarter=quarter).exists():
        return f"Door visits: {lists} focus lists for {quarter}; visits already there."
    start = _quarter_start(now)
    visits: list[DoorVisit] = []
    town_code = {r.pk: code for code, r in directory.townships.items()}
    town_of_village = {v.pk: town_code.get(v.parent_id or 0, "") for v in directory.villages}
    for region, grid in zip(directory.grids, grids, strict=True):
        worker = users[grid_worker_username(region)]
        asked = town_of_village.get(region.parent_id or 0, "")
        for n in range(rng.randrange(20, 90)):
            at = start + (now - start) * rng.random()
            address = f"{region.name[:-4]}{n // 12 + 1}号楼{n % 12 + 1}户"
            home = rng.random() > 0.15
            visits.append(
                DoorVisit(
                    grid=grid,
                    quarter=quarter,
                    visited_at=at,
                    visited_by=worker,
                    address=address,
                    household=services.household_key(address),
                    nobody_home=not home,
                    met=rng.choice(PEOPLE) if home else "",
                    answers=[
                        {"unit": asked, "topic": TOWNSHIP_TOPICS[0], "answer": rng.choice(ANSWERS)}
                    ]
                    if home and rng.random() > 0.5
                    else [],
                )
            )
    DoorVisit.objects.bulk_create(visits, batch_size=1000)
    opened = _problems(directory, rng, now) if with_appeals else 0
    return (
        f"Door visits: {lists} focus lists for {quarter}, {len(visits) + opened} visits, "
        f"{opened} problems raised as appeals."
    )


def _publish(
    username: str, quarter: str, topics: list[str], users: dict[str, User], unit: Unit
) -> None:
    if not FocusList.objects.filter(unit=unit, quarter=quarter).exists():
        services.focus_list_publish(actor=users[username], quarter=quarter, topics=topics)


def _problems(directory: Directory, rng: random.Random, now: dt.datetime) -> int:
    """A few households raise a problem: each visit and its appeal through the service."""
    for i, (kind, text) in enumerate(PROBLEMS):
        region = directory.grids[i * 7 % len(directory.grids)]
        worker = directory.users[grid_worker_username(region)]
        with clock.frozen(now - dt.timedelta(hours=2 * (len(PROBLEMS) - i))):
            services.door_visit_record(
                actor=worker,
                data=services.VisitInput(
                    address=f"{region.name[:-4]}{rng.randrange(1, 9)}号楼{rng.randrange(1, 13)}户",
                    met=rng.choice(PEOPLE),
                    raised=text,
                    problems=[services.ProblemInput(content=text, kind=kind)],
                ),
            )
    return len(PROBLEMS)


def _quarter_start(now: dt.datetime) -> dt.datetime:
    local = timezone.localtime(now)
    month = (local.month - 1) // 3 * 3 + 1
    return local.replace(month=month, day=1, hour=8, minute=0, second=0, microsecond=0)
