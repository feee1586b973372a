"""A hand-built November 2026 for the double ranking, written through the real services with a
frozen clock; every figure the tests expect is worked out by hand in the test modules.

Cadres (包保) and their enterprises:

* 经发局 team: 王芳 (jfj-wangfang) holds 兴业机械 and 绿源食品; 李军 (jfj-lijun) holds 恒通物流,
  and 宏达建材 from 11-10; the unit's head (handler-jfj, 经发局 张伟… whatever the directory named
  them) held 宏达建材 until 11-10.
* 城关镇 team: its head handler (handler-chengguan) holds 兴业机械 too.
* County leaders: 刘志强 (leader) holds 绿源食品; 赵国栋 (leader-zhao) leads the 装备制造产业链
  (兴业机械, 恒通物流).

Key work: supervision orders to 住建局, 城管局 and 城关镇 (see ``build_orders``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from django.contrib.auth.hashers import make_password

from kuaiban.appeals import services as appeals
from kuaiban.conftest import user
from kuaiban.core import clock
from kuaiban.enterprise import services as ent
from kuaiban.enterprise.models import Enterprise
from kuaiban.enterprise.services.links import link_appeal
from kuaiban.enterprise.tests.conftest import code
from kuaiban.org.demo import Directory
from kuaiban.org.models import Role, User
from kuaiban.supervision.services import orders as sup

TZ = ZoneInfo("Asia/Shanghai")
NOW = dt.datetime(2026, 12, 3, 12, 0, tzinfo=TZ)


def at(day: str, hm: str = "10:00") -> dt.datetime:
    return dt.datetime.fromisoformat(f"{day}T{hm}").replace(tzinfo=TZ)


def step(when: dt.datetime, fn: Any, **kwargs: Any) -> Any:
    with clock.frozen(when):
        return fn(**kwargs)


@dataclass
class Book:
    d: Directory
    enterprises: dict[str, Enterprise]
    appeals: dict[str, str]
    orders: dict[str, str]


def person(username: str, name: str, role: str, unit: str | None, d: Directory) -> User:
    return User.objects.create(
        username=username,
        display_name=name,
        role=role,
        unit=d.units[unit] if unit else None,
        password=make_password("kuaiban-demo"),
    )


ENTERPRISES = {
    "兴业": ("清河县兴业机械制造有限公司", "C"),
    "绿源": ("清河县绿源食品有限公司", "C"),
    "恒通": ("清河县恒通物流有限公司", "G"),
    "宏达": ("清河县宏达建材有限公司", "C"),
}


def _enterprises(d: Directory) -> dict[str, Enterprise]:
    out = {}
    for n, (key, (name, industry)) in enumerate(ENTERPRISES.items(), start=1):
        out[key] = step(
            at("2026-10-08"),
            ent.enterprise_create,
            actor=user("admin"),
            data=ent.EnterpriseInput(
                credit_code=code(700 + n),
                name=name,
                industry=industry,
                size="above",
                township=d.townships["chengguan"].code,
                address="工业园区纬二路8号",
                contact_name="周建平",
                contact_phone=f"1390531000{n}",
            ),
        )
    return out


def _assign(when: str, official: str, e: Enterprise) -> Any:
    return step(
        at(when),
        ent.assignment_create,
        actor=user("admin"),
        official=official,
        enterprise=e.credit_code,
        duty="包保联络",
    )


def _visit(day: str, actor: str, e: Enterprise, *others: str) -> None:
    step(
        at(day, "16:00"),
        ent.visit_record,
        actor=user(actor),
        credit_code=e.credit_code,
        data=ent.VisitInput(
            visited_on=dt.date.fromisoformat(day),
            findings="走访了解企业生产经营、用工和融资情况。",
            visitors=list(others),
        ),
    )


def _appeal(e: Enterprise, when: dt.datetime, **fields: Any) -> str:
    data: dict[str, Any] = {
        "channel": "hotline",
        "kind": "complaint",
        "title": "厂区道路积水影响货车通行",
        "content": "工业园区纬二路厂区门口道路积水严重，货车无法正常进出，希望尽快疏通排水。",
        "submitter_type": "enterprise",
        "submitter_name": "周建平",
        "submitter_phone": "13905310001",
        "enterprise_name": e.name,
        "credit_code": e.credit_code,
    }
    data.update(fields)
    with clock.frozen(when):
        appeal = appeals.appeal_register(actor=user("operator"), data=appeals.AppealInput(**data))
        link_appeal(appeal, e, source="credit_code")
    return appeal.number or ""


def _handle(n: str, unit: str, *, dispatched: str, replied: str | None) -> None:
    step(at(dispatched), appeals.appeal_dispatch, actor=user("operator"), number=n, unit=unit)
    step(at(dispatched, "14:00"), appeals.appeal_claim, actor=user(f"handler-{unit}"), number=n)
    if replied:
        step(
            at(replied),
            appeals.appeal_reply,
            actor=user(f"handler-{unit}"),
            number=n,
            result="resolved",
            text="已协调排水公司疏通管网，积水已排除。",
        )


def _rate(n: str, day: str, satisfaction: str) -> None:
    step(
        at(day),
        appeals.appeal_visit,
        actor=user("visitor"),
        number=n,
        data=appeals.VisitInput(
            reached=True,
            satisfaction=satisfaction,
            resolved=satisfaction != "dissatisfied",
            authentic=True,
            note="回访企业联系人",
        ),
    )


def build_cadres(d: Directory) -> Book:
    """Long because: the whole hand-built month reads best as one story, step by step."""
    person("jfj-wangfang", "经发局 王芳", Role.HANDLER, "jfj", d)
    person("jfj-lijun", "经发局 李军", Role.HANDLER, "jfj", d)
    person("leader-zhao", "县领导 赵国栋", Role.LEADER, None, d)
    es = _enterprises(d)
    _assign("2026-10-15", "jfj-wangfang", es["兴业"])
    _assign("2026-10-15", "jfj-wangfang", es["绿源"])
    _assign("2026-10-15", "jfj-lijun", es["恒通"])
    handed = _assign("2026-10-15", "handler-jfj", es["宏达"])
    _visit("2026-11-06", "handler-jfj", es["宏达"])  # recorded while 宏达 was still his
    step(
        at("2026-11-10", "09:00"), ent.assignment_end, actor=user("admin"), assignment_id=handed.pk
    )
    _assign("2026-11-10", "jfj-lijun", es["宏达"])
    _assign("2026-10-15", "handler-chengguan", es["兴业"])
    _assign("2026-10-15", "leader", es["绿源"])
    step(
        at("2026-10-16"),
        ent.chain_create,
        actor=user("admin"),
        data=ent.ChainInput(
            name="装备制造产业链",
            leader="leader-zhao",
            enterprises=[es["兴业"].credit_code, es["恒通"].credit_code],
        ),
    )
    # Visits: 王芳 three (李军 along on the first, not his enterprise); 李军 one of his own;
    # the head of 经发局 one while 宏达 was his; 赵国栋 one on his chain; 王芳 one in October.
    _visit("2026-10-20", "jfj-wangfang", es["绿源"])
    _visit("2026-11-05", "jfj-wangfang", es["兴业"], "jfj-lijun")
    _visit("2026-11-12", "jfj-wangfang", es["绿源"])
    _visit("2026-11-20", "jfj-wangfang", es["兴业"])
    _visit("2026-11-08", "jfj-lijun", es["恒通"])
    _visit("2026-11-15", "leader-zhao", es["恒通"])
    # A visit recorded by a supervisor who looks after nothing, with 李军 along before 宏达
    # was his: neither counts.
    _visit("2026-11-05", "supervisor", es["宏达"], "jfj-lijun")

    a: dict[str, str] = {}
    # A1 兴业: replied on time, satisfied, closed.
    a["A1"] = _appeal(es["兴业"], at("2026-11-03"))
    _handle(a["A1"], "zjj", dispatched="2026-11-03", replied="2026-11-06")
    _rate(a["A1"], "2026-11-09", "satisfied")
    step(at("2026-11-10"), appeals.appeal_close, actor=user("supervisor"), number=a["A1"])
    # A2 绿源: replied after its deadline, rated basically satisfied, not closed.
    a["A2"] = _appeal(es["绿源"], at("2026-11-04"), title="食品生产许可证延续办理慢")
    _handle(a["A2"], "scjg", dispatched="2026-11-04", replied="2026-12-01")
    _rate(a["A2"], "2026-12-02", "basic")
    # A3 恒通: dispatched and claimed, never replied; its deadline passed before NOW.
    a["A3"] = _appeal(es["恒通"], at("2026-11-10"), title="物流园区路灯损坏")
    _handle(a["A3"], "cgj", dispatched="2026-11-10", replied=None)
    # A4 宏达 (the 经发局 head's until 11-10): replied on time, dissatisfied (sent back).
    a["A4"] = _appeal(es["宏达"], at("2026-11-07"), title="建材运输车辆通行证办理")
    _handle(a["A4"], "jtj", dispatched="2026-11-07", replied="2026-11-11")
    _rate(a["A4"], "2026-11-13", "dissatisfied")
    # A5 宏达 (李军's from 11-10): a consultation answered at intake, satisfied, closed.
    a["A5"] = _appeal(
        es["宏达"],
        at("2026-11-12"),
        kind="consultation",
        title="咨询技改补贴申报条件",
        content="想咨询2026年工业企业技术改造补贴的申报条件和截止时间。",
    )
    step(
        at("2026-11-12", "11:00"),
        appeals.appeal_answer,
        actor=user("operator"),
        number=a["A5"],
        text="技改补贴申报条件见经发局官网通知，截止时间为12月15日。",
    )
    _rate(a["A5"], "2026-11-14", "satisfied")
    step(at("2026-11-16"), appeals.appeal_close, actor=user("supervisor"), number=a["A5"])
    # A6 兴业 in October: another period.
    a["A6"] = _appeal(es["兴业"], at("2026-10-28"), title="厂区供电不稳")
    # A7 绿源: invalid (a test call), left out.
    a["A7"] = _appeal(es["绿源"], at("2026-11-15"), title="测试")
    step(
        at("2026-11-15", "11:00"),
        appeals.appeal_invalidate,
        actor=user("operator"),
        number=a["A7"],
        reason="测试来电",
    )
    # A8 兴业: registered on 11-20, not yet dispatched.
    a["A8"] = _appeal(es["兴业"], at("2026-11-20"), title="企业员工子女入学咨询")
    return Book(d, es, a, {})


def _order(when: str, unit: str, due: str, level: str = "yellow") -> str:
    order = step(
        at(when),
        sup.order_issue,
        actor=user("supervisor"),
        level=level,
        text="重点工作：营商环境突出问题整改，请按期报送整改情况。",
        due=due,
        unit=unit,
    )
    return str(order.number)


def _answer(when: str, unit: str, n: str) -> None:
    step(
        at(when),
        sup.order_answer,
        actor=user(f"handler-{unit}"),
        number=n,
        text="已完成整改，整改台账及照片已上传。",
    )


def _close(when: str, n: str) -> None:
    step(at(when), sup.order_close, actor=user("supervisor"), number=n, note="同意销号")


def build_orders(d: Directory) -> dict[str, str]:
    o: dict[str, str] = {}
    # O7 住建局 in October: answered and cleared on time (Q4 and the year only).
    o["O7"] = _order("2026-10-30", "zjj", "2026-11-06")
    _answer("2026-11-05", "zjj", o["O7"])
    _close("2026-11-06", o["O7"])
    # O1 住建局: answered by the deadline, cleared.
    o["O1"] = _order("2026-11-05", "zjj", "2026-11-12")
    _answer("2026-11-10", "zjj", o["O1"])
    _close("2026-11-11", o["O1"])
    # O2 住建局, red card: answered late, cleared.
    o["O2"] = _order("2026-11-06", "zjj", "2026-11-13", level="red")
    _answer("2026-11-16", "zjj", o["O2"])
    _close("2026-11-17", o["O2"])
    # O5 住建局: withdrawn by the supervisor while open — left out.
    o["O5"] = _order("2026-11-10", "zjj", "2026-11-20")
    _close("2026-11-11", o["O5"])
    # O3 城管局: answered, sent back with a new deadline, answered again by it, cleared.
    o["O3"] = _order("2026-11-06", "cgj", "2026-11-20")
    _answer("2026-11-18", "cgj", o["O3"])
    step(
        at("2026-11-19"),
        sup.order_reopen,
        actor=user("supervisor"),
        number=o["O3"],
        note="整改照片不全，请补充",
        due="2026-11-25",
    )
    _answer("2026-11-24", "cgj", o["O3"])
    _close("2026-11-26", o["O3"])
    # O4 城管局: never answered, overdue.
    o["O4"] = _order("2026-11-09", "cgj", "2026-11-16")
    # O6 城关镇: answered, awaiting the supervisor.
    o["O6"] = _order("2026-11-12", "chengguan", "2026-11-19")
    _answer("2026-11-18", "chengguan", o["O6"])
    return o
