"""Demo data: this year's livelihood projects (民生实事) with milestones and the progress their
owner units reported so far, written through the real services (deterministic for a seed)."""

from __future__ import annotations

import datetime as dt
import random

from django.utils import timezone

from kuaiban.core import clock
from kuaiban.enterprise.demo_data import CHAIN_PROJECTS
from kuaiban.enterprise.models import IndustryChain
from kuaiban.enterprise.services import assignment_create
from kuaiban.org.demo import Directory
from kuaiban.org.models import User
from kuaiban.projects import selectors, services
from kuaiban.projects.models import Milestone, Project

# name, owner unit, budget (10,000 yuan), target, [(month, day, milestone)], pace
PROJECTS: list[tuple[str, str, int, str, list[tuple[int, int, str]], float]] = [
    (
        "城区老旧小区改造",
        "zjj",
        8600,
        "完成12个老旧小区改造，惠及居民2860户，同步实施管网更新、加装电梯和停车位改造。",
        [
            (3, 31, "完成设计和施工招标"),
            (6, 30, "6个小区开工"),
            (9, 30, "主体工程完工"),
            (12, 15, "全部通过验收"),
        ],
        1.0,
    ),
    (
        "新建城区第三小学",
        "jyj",
        12000,
        "新建36个班规模的小学一所，新增学位1620个，秋季学期前完成主体结构封顶。",
        [
            (2, 28, "取得施工许可"),
            (5, 31, "基础工程完成"),
            (8, 31, "主体结构封顶"),
            (12, 31, "室内装修完成"),
        ],
        0.9,
    ),
    (
        "农村饮水安全巩固提升工程",
        "swj",
        3200,
        "改造农村供水管网126公里，新建水厂一座，解决3.2万农村人口饮水稳定问题。",
        [(4, 30, "管材招标完成"), (7, 31, "管网铺设过半"), (10, 31, "新水厂通水")],
        1.1,
    ),
    (
        "城乡公交一体化",
        "jtj",
        1500,
        "新开通城乡公交线路6条，新增新能源公交车30辆，实现建制村通公交率100%。",
        [(3, 31, "车辆采购完成"), (6, 30, "新线路开通"), (9, 30, "站台建设完成")],
        1.2,
    ),
    (
        "乡镇卫生院服务能力提升",
        "wjj",
        2400,
        "为9个乡镇卫生院配备DR、彩超等设备，建成5个标准化发热门诊和远程会诊室。",
        [(4, 30, "设备招标"), (8, 31, "设备安装调试"), (11, 30, "远程会诊上线")],
        0.7,
    ),
    (
        "县级养老服务中心",
        "mzj",
        1800,
        "建成县级养老服务指导中心一处，新增护理型床位200张，开展居家养老上门服务。",
        [(5, 31, "主体改造开工"), (9, 30, "完成改造"), (12, 31, "投入运营")],
        0.8,
    ),
    (
        "背街小巷环境整治",
        "cgj",
        900,
        "整治背街小巷40条，新增公厕12座、垃圾分类投放点80个，规范占道经营。",
        [(4, 30, "完成摸底和方案"), (8, 31, "完成20条"), (11, 30, "完成40条")],
        1.05,
    ),
    (
        "清水河水环境综合治理",
        "sthj",
        5600,
        "完成清水河城区段12公里截污纳管和生态护岸建设，主要断面水质稳定达到III类。",
        [(3, 31, "截污工程开工"), (7, 31, "截污纳管完成"), (11, 30, "生态护岸完成")],
        0.85,
    ),
    (
        "高标准农田建设",
        "nyj",
        4300,
        "新建高标准农田3.5万亩，配套灌溉、机耕路等设施，亩均增产10%以上。",
        [(3, 15, "春灌前完成渠系清淤"), (6, 30, "完成1.5万亩"), (10, 31, "完成3.5万亩")],
        1.0,
    ),
    (
        "就业技能培训",
        "rsj",
        600,
        "开展职业技能培训5000人次，新增城镇就业3000人，零就业家庭动态清零。",
        [(3, 31, "春风行动招聘会"), (6, 30, "培训2500人次"), (12, 15, "培训5000人次")],
        1.15,
    ),
    (
        "医保一站式结算",
        "ybj",
        300,
        "实现县域内定点医疗机构医保、大病保险、医疗救助“一站式”即时结算全覆盖。",
        [(4, 30, "系统对接"), (7, 31, "县级医院上线"), (10, 31, "乡镇卫生院全覆盖")],
        1.1,
    ),
    (
        "政务服务“一网通办”",
        "xzsp",
        450,
        "推动200项高频政务服务事项全程网办，企业开办时间压缩至1个工作日。",
        [(3, 31, "事项梳理"), (6, 30, "100项上线"), (11, 30, "200项上线")],
        1.0,
    ),
]

# name → pace (share of the plan done per share of the year gone)
PACE = {p[0]: p[5] for p in PROJECTS}

NOTES = [
    "按计划推进，本周完成阶段性任务。",
    "施工队伍增加至{n}个班组，加快进度。",
    "已完成{pct}%工程量，质量验收合格。",
    "受雨季影响进度略有滞后，已调整施工计划。",
    "已召开推进会，协调解决资金拨付问题。",
    "群众反映良好，正在推进下一阶段工作。",
]


def load(directory: Directory, *, seed: int, with_appeals: bool) -> str:
    today = timezone.localdate(timezone.now())
    year = today.year
    if Project.objects.filter(year=year).exists():
        return f"Livelihood projects {year}: already loaded."
    rng = random.Random(seed * 11 + 3)
    leader = directory.users["leader"]
    admin = directory.users["admin"]
    start = timezone.make_aware(dt.datetime(year, 1, 8, 10))
    made = updates = 0
    for index, (name, unit, budget, target, milestones, pace) in enumerate(PROJECTS):
        data = services.ProjectInput(
            year=year,
            name=name,
            owner_unit=unit,
            target=target,
            budget=budget,
            milestones=[
                services.MilestoneInput(title=title, due=dt.date(year, month, day))
                for month, day, title in milestones
            ],
        )
        with clock.frozen(min(start, timezone.now())):
            project = services.project_create(actor=leader, data=data)
            if index % 3 == 0:
                assignment_create(
                    actor=admin, official=leader.username, project=project.pk, duty="包保县领导"
                )
        made += 1
        updates += _progress(project, directory, rng, today, pace)
    _along_chains(year)
    return f"Livelihood projects {year}: {made} projects, {updates} progress updates."


def _along_chains(year: int) -> None:
    """The demo industry chains (loaded by the enterprise demo) get the projects along them."""
    for chain in IndustryChain.objects.filter(name__in=CHAIN_PROJECTS):
        chain.projects.add(*Project.objects.filter(year=year, name__in=CHAIN_PROJECTS[chain.name]))


def _reached(project: Project, day: dt.date, pace: float) -> Milestone | None:
    """The first open milestone the project's own pace has got to by ``day``: a milestone due
    at D is reached once (D − 1 January) / pace days of the year have gone (late when slow)."""
    year_start = dt.date(day.year, 1, 1)
    m = project.milestones.filter(done_on__isnull=True).order_by("due", "id").first()
    if m is not None and year_start + dt.timedelta(days=(m.due - year_start).days / pace) <= day:
        return m
    return None


def _report(
    project: Project, handler: User, moment: dt.datetime, figure: int, rng: random.Random
) -> bool:
    """One report at ``moment``: the planned figure kept within what the milestones reached
    (this one included) agree with (selectors.milestone_band); False when nothing changes."""
    milestone = _reached(project, timezone.localdate(moment), PACE[project.name])
    total = project.milestones.count()
    done = project.milestones.filter(done_on__isnull=False).count() + (milestone is not None)
    low, high = selectors.milestone_band(done, total)
    new = min(max(figure, project.progress, low), high)
    if new == project.progress and milestone is None:
        return False
    with clock.frozen(moment):
        services.project_progress(
            actor=handler,
            project_id=project.pk,
            progress=new,
            note=rng.choice(NOTES).format(n=rng.randint(3, 9), pct=new),
            milestone=milestone.pk if milestone else None,
        )
    project.refresh_from_db()
    return True


def _progress(
    project: Project, d: Directory, rng: random.Random, today: dt.date, pace: float
) -> int:
    """Reports every three to five weeks until today, following the project's pace; milestones
    are reached as the pace gets to them, and the figure always agrees with them."""
    handler = d.users[f"handler-{project.owner_unit.code}"]
    year_start = dt.date(today.year, 1, 1)
    day = year_start + dt.timedelta(days=rng.randint(20, 35))
    made = 0
    while day < today:
        share = (day - year_start).days / 365
        figure = min(100, round(100 * share * pace + rng.uniform(-4, 4)))
        moment = timezone.make_aware(dt.datetime.combine(day, dt.time(16, rng.randint(0, 59))))
        made += _report(project, handler, moment, figure, rng)
        day += dt.timedelta(days=rng.randint(18, 35))
    # One recent report for most projects, so "what changed recently" is never empty.
    if rng.random() < 0.7 and project.progress < 100 and today > year_start + dt.timedelta(days=7):
        moment = timezone.now() - dt.timedelta(days=rng.randint(1, 6), hours=rng.randint(1, 8))
        made += _report(project, handler, moment, project.progress + rng.randint(1, 5), rng)
    return made
