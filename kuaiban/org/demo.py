"""The demo county's directory: regions, units and users (idempotent)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.contrib.auth.hashers import make_password

from kuaiban.org.models import Region, Role, Unit, User
from kuaiban.org.selectors import KM_PER_DEGREE

COUNTY = ("330000", "清河县")

# township code → (name, [villages/communities])
TOWNSHIPS: dict[str, tuple[str, list[str]]] = {
    "chengguan": ("城关镇", ["南关社区", "北街社区", "东门村"]),
    "dongcheng": ("东城街道", ["滨河社区", "光明社区", "新村社区"]),
    "xicheng": ("西城街道", ["西苑社区", "富民社区"]),
    "xinhua": ("新华镇", ["新华村", "大王庄村", "李家湾村"]),
    "liuhe": ("柳河镇", ["柳河村", "前进村"]),
    "shiqiao": ("石桥乡", ["石桥村", "马坊村", "杏花村"]),
    "baisha": ("白沙镇", ["白沙村", "沙湾村"]),
    "longquan": ("龙泉乡", ["龙泉村", "上坪村"]),
    "shuanghe": ("双河镇", ["双河村", "河东村", "河西村"]),
}

# code → name; the townships are added as units too.
DEPARTMENTS: dict[str, str] = {
    "xzsp": "行政审批局",
    "ybj": "医保局",
    "zjj": "住建局",
    "cgj": "城管局",
    "jfj": "经发局",
    "zrzy": "自然资源和规划局",
    "wjj": "卫健局",
    "jyj": "教育局",
    "rsj": "人社局",
    "sthj": "生态环境分局",
    "scjg": "市场监管局",
    "xfj": "信访局",
    "jtj": "交通运输局",
    "swj": "水利局",
    "mzj": "民政局",
    "nyj": "农业农村局",
}

STAFF: list[tuple[str, str, str]] = [
    ("admin", "系统管理员", Role.ADMIN),
    ("operator", "受理员 王晓丽", Role.OPERATOR),
    ("supervisor", "督查员 陈建国", Role.SUPERVISOR),
    ("leader", "县领导 刘志强", Role.LEADER),
    ("visitor", "回访员 赵敏", Role.VISITOR),
]

HANDLER_NAMES = [
    "张伟",
    "李娜",
    "王磊",
    "刘洋",
    "陈静",
    "杨帆",
    "赵军",
    "黄丽",
    "周涛",
    "吴敏",
    "徐强",
    "孙婷",
    "马超",
    "朱琳",
    "胡斌",
    "郭芳",
    "何勇",
    "高燕",
    "林峰",
    "罗霞",
    "郑凯",
    "梁红",
    "谢明",
    "宋佳",
    "唐亮",
]


@dataclass
class Directory:
    county: Region
    townships: dict[str, Region]
    villages: list[Region]
    grids: list[Region]
    units: dict[str, Unit]
    users: dict[str, User]


def build_directory() -> Directory:
    password = settings.KUAIBAN_DEMO_PASSWORD
    county, _ = Region.objects.get_or_create(
        code=COUNTY[0], defaults={"name": COUNTY[1], "level": Region.Level.COUNTY}
    )
    townships: dict[str, Region] = {}
    villages: list[Region] = []
    grids: list[Region] = []
    for t_index, (code, (name, village_names)) in enumerate(TOWNSHIPS.items(), start=1):
        t_code = f"{COUNTY[0]}{t_index:03d}"
        town, _ = Region.objects.get_or_create(
            code=t_code, defaults={"name": name, "level": Region.Level.TOWNSHIP, "parent": county}
        )
        townships[code] = town
        for v_index, v_name in enumerate(village_names, start=1):
            village, _ = Region.objects.get_or_create(
                code=f"{t_code}{v_index:03d}",
                defaults={"name": v_name, "level": Region.Level.VILLAGE, "parent": town},
            )
            villages.append(village)
            for g_index in (1, 2):
                grid, _ = Region.objects.get_or_create(
                    code=f"{village.code}{g_index:02d}",
                    defaults={
                        "name": f"{v_name}第{g_index}网格",
                        "level": Region.Level.GRID,
                        "parent": village,
                    },
                )
                grids.append(grid)

    units: dict[str, Unit] = {}
    for code, name in DEPARTMENTS.items():
        units[code], _ = Unit.objects.get_or_create(
            code=code, defaults={"name": name, "kind": Unit.Kind.DEPARTMENT}
        )
    for code, (name, _villages) in TOWNSHIPS.items():
        units[code], _ = Unit.objects.get_or_create(
            code=code,
            defaults={"name": name, "kind": Unit.Kind.TOWNSHIP, "region": townships[code]},
        )
    units.update(_local_units(villages, grids))

    users = _people(units, encoded=make_password(password))
    return Directory(county, townships, villages, grids, units, users)


def _people(units: dict[str, Unit], *, encoded: str) -> dict[str, User]:
    """The staff, one head handler per unit but the grids, one grid worker per grid; the
    missing ones in one insert. One hash for all: PBKDF2 is deliberately slow, and they share
    the password."""
    wanted: list[User] = [
        User(
            username=username,
            display_name=display,
            role=role,
            is_staff=role == Role.ADMIN,
            is_superuser=role == Role.ADMIN,
        )
        for username, display, role in STAFF
    ]
    for index, (code, unit) in enumerate(units.items()):
        person = HANDLER_NAMES[index % len(HANDLER_NAMES)]
        if unit.kind == Unit.Kind.GRID and unit.region is not None:
            wanted.append(
                User(
                    username=grid_worker_username(unit.region),
                    display_name=f"{unit.name} 网格员 {person}",
                    role=Role.GRID_WORKER,
                    unit=unit,
                )
            )
        elif unit.kind != Unit.Kind.GRID:
            wanted.append(
                User(
                    username=f"handler-{code}",
                    display_name=f"{unit.name} {person}",
                    role=Role.HANDLER,
                    unit=unit,
                    is_unit_head=True,
                )
            )
    have = {u.username: u for u in User.objects.filter(username__in=[w.username for w in wanted])}
    missing = [w for w in wanted if w.username not in have]
    for w in missing:
        w.password = encoded
    User.objects.bulk_create(missing)
    if missing:
        have = {
            u.username: u
            for u in User.objects.filter(username__in=[w.username for w in wanted]).select_related(
                "unit"
            )
        }
    return {w.username: have[w.username] for w in wanted}


def village_unit_code(region: Region) -> str:
    return f"v{region.code}"


def grid_unit_code(region: Region) -> str:
    return f"g{region.code}"


def grid_worker_username(grid: Region) -> str:
    """The demo grid worker of a grid: ``grid-<grid code>``."""
    return f"grid-{grid.code}"


def _local_units(villages: list[Region], grids: list[Region]) -> dict[str, Unit]:
    """Each demo village/community and grid as a handling unit (村/社区, 网格), in one insert."""
    wanted = [(village_unit_code(v), v, Unit.Kind.VILLAGE) for v in villages] + [
        (grid_unit_code(g), g, Unit.Kind.GRID) for g in grids
    ]
    have = {u.code: u for u in Unit.objects.filter(code__in=[c for c, _r, _k in wanted])}
    Unit.objects.bulk_create(
        Unit(code=code, name=region.name, kind=kind, region=region)
        for code, region, kind in wanted
        if code not in have
    )
    if len(have) < len(wanted):
        have = {
            u.code: u
            for u in Unit.objects.filter(code__in=[c for c, _r, _k in wanted]).select_related(
                "region"
            )
        }
    return {code: have[code] for code, _r, _k in wanted}


def place_regions(d: Directory) -> None:
    """Give the demo county's regions invented centres around the map's centre (townships on a
    ring about 9 km out, their villages about 2 km around them), so that a pin dropped on the
    demo map falls in a village. A real county enters its own in the admin."""
    lat0, lng0, _zoom = settings.KUAIBAN_MAP_CENTER_PARSED
    per_degree_lng = KM_PER_DEGREE * math.cos(math.radians(lat0))

    def at(lat: float, lng: float, km: float, turn: float) -> tuple[Decimal, Decimal]:
        angle = 2 * math.pi * turn
        return (
            Decimal(f"{lat + km * math.sin(angle) / KM_PER_DEGREE:.6f}"),
            Decimal(f"{lng + km * math.cos(angle) / per_degree_lng:.6f}"),
        )

    placed: list[Region] = []
    towns = list(d.townships.values())
    for t_index, town in enumerate(towns):
        town.lat, town.lng = at(lat0, lng0, 9.0, t_index / max(len(towns), 1))
        placed.append(town)
        villages = [v for v in d.villages if v.parent_id == town.pk]
        for v_index, village in enumerate(villages):
            village.lat, village.lng = at(
                float(town.lat), float(town.lng), 2.0, v_index / max(len(villages), 1)
            )
            placed.append(village)
            for g_index, grid in enumerate(g for g in d.grids if g.parent_id == village.pk):
                grid.lat, grid.lng = at(float(village.lat), float(village.lng), 0.4, g_index / 2)
                placed.append(grid)
    Region.objects.bulk_update(placed, ["lat", "lng"])
