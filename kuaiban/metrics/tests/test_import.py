"""``kuaiban import`` and the upload page: dry run first, every invalid row reported, nothing
written unless all rows are valid (or --skip-invalid), and no duplicates on a second import."""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse
from openpyxl import Workbook, load_workbook

from kuaiban.appeals.audit import verify
from kuaiban.appeals.models import Appeal, AppealEvent, Status
from kuaiban.conftest import progress_seen, user
from kuaiban.core import clock
from kuaiban.metrics import importer, services
from kuaiban.metrics.excel import XLSX
from kuaiban.metrics.models import ImportBatch, ImportedAppeal
from kuaiban.metrics.tests.ledger import NOW
from kuaiban.org.demo import Directory
from kuaiban.org.models import Unit

pytestmark = pytest.mark.django_db

HEAD = [
    "来源编号",
    "受理时间",
    "渠道",
    "诉求类型",
    "事项分类",
    "标题",
    "诉求内容",
    "诉求人",
    "联系电话",
    "所属区域",
    "承办单位",
    "状态",
    "派单时间",
    "签收时间",
    "答复时间",
    "答复结果",
    "答复内容",
    "回访时间",
    "满意度",
    "是否解决",
    "是否真实联系",
    "办结时间",
]
CLOSED = [
    "GD2025-0001",
    "2025-03-03 09:12",
    "12345热线",
    "投诉",
    "",
    "夜间施工噪音扰民",
    "东门村附近工地每天夜里十一点后还在浇筑混凝土，噪音很大，影响休息。",
    "李秀英",
    "13912345678",
    "城关镇/东门村",
    "住建局",
    "已办结",
    "2025-03-03 09:40",
    "2025-03-03 10:05",
    "2025-03-05 16:00",
    "已解决",
    "已责令施工单位夜间停工，并安排巡查。",
    "2025-03-06 10:00",
    "满意",
    "是",
    "是",
    "2025-03-06 15:00",
]
REPLIED = [
    "GD2025-0002",
    "2025/3/4 10:00",
    "书记县长信箱",
    "求助",
    "",
    "低保申请进度",
    "去年十月提交的低保申请至今没有结果，家里老人卧病，生活困难。",
    "张桂兰",
    "13700001111",
    "新华镇",
    "民政局",
    "已答复",
    "2025-03-04 10:30",
    "2025-03-05 09:00",
    "2025-03-20 11:00",
    "部分解决",
    "已加快审核，预计下月发放。",
    "",
    "",
    "",
    "",
    "",
]
ANSWERED = [
    "",
    "2025-03-05 14:00",
    "网站",
    "咨询",
    "",
    "公积金提取条件",
    "租房可以提取住房公积金吗？需要什么材料？",
    "赵强",
    "",
    "",
    "",
    "已答复",
    "",
    "",
    "2025-03-05 14:20",
    "",
    "可以，需提供租房合同和完税证明。",
    "",
    "",
    "",
    "",
    "",
]


def csv_bytes(rows: list[list[str]]) -> bytes:
    out = io.StringIO()
    csv.writer(out).writerows([HEAD, *rows])
    return out.getvalue().encode("utf-8-sig")


def xlsx_bytes(rows: list[list[Any]]) -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.append(HEAD)
    for row in rows:
        ws.append(row)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def run(path: Path, *args: str) -> str:
    out = io.StringIO()
    with clock.frozen(NOW):
        call_command("import", str(path), *args, stdout=out)
    return out.getvalue()


def test_a_valid_file_imports_with_its_history(county: Directory, tmp_path: Path) -> None:
    f = tmp_path / "台账2025.csv"
    f.write_bytes(csv_bytes([CLOSED, REPLIED, ANSWERED]))
    assert "0 invalid" in run(f, "--dry-run")
    assert Appeal.objects.count() == 0  # a dry run writes nothing
    out = run(f)
    assert "Imported 3 appeals" in out
    a = Appeal.objects.get(pk=ImportedAppeal.objects.get(key="src:GD2025-0001").appeal_id)
    assert a.status == Status.CLOSED and a.lead_unit == county.units["zjj"]
    assert a.number == f"KB20250303-{a.pk:06d}"
    assert a.region is not None and a.region.name == "东门村"
    events = list(a.events.order_by("seq").values_list("action", "at"))
    assert [e[0] for e in events] == ["register", "dispatch", "claim", "reply", "visit", "close"]
    tz = dt.timezone(dt.timedelta(hours=8))
    assert events[0][1] == dt.datetime(2025, 3, 3, 9, 12, tzinfo=tz)
    assert events[-1][1] == dt.datetime(2025, 3, 6, 15, 0, tzinfo=tz)
    assert list(verify()) == []  # every imported history is a sound hash chain
    answered = Appeal.objects.get(channel="web")
    assert answered.status == Status.REPLIED and answered.lead_unit is None
    # Imported appeals count in the month they were received.
    with clock.frozen(NOW):
        march = services.total(services.Scope(dt.date(2025, 3, 1), dt.date(2025, 3, 31)))
    assert (march.received, march.closed, march.replied, march.rated, march.satisfied) == (
        3,
        1,
        3,
        1,
        1,
    )
    # GD2025-0002 was dispatched on 03-04 and claimed the next morning: late.
    assert (march.dispatches, march.claimed_on_time) == (2, 1)


def test_reimporting_the_same_file_creates_no_duplicates(county: Directory, tmp_path: Path) -> None:
    f = tmp_path / "台账.xlsx"
    f.write_bytes(xlsx_bytes([CLOSED, REPLIED, ANSWERED]))
    run(f)
    events = AppealEvent.objects.count()
    out = run(f)
    assert "3 already imported" in out and "Imported 0 appeals" in out
    assert Appeal.objects.count() == 3
    assert AppealEvent.objects.count() == events


def test_invalid_rows_are_each_reported_and_block_the_import(
    county: Directory, tmp_path: Path
) -> None:
    bad_phone = [*CLOSED]
    bad_phone[0], bad_phone[8] = "GD2025-0009", "1391234"
    bad_unit = [*REPLIED]
    bad_unit[0], bad_unit[10] = "GD2025-0010", "宇宙管理局"
    backwards = [*CLOSED]
    backwards[0], backwards[13] = "GD2025-0011", "2025-03-02 08:00"  # claimed before dispatch
    missing = [*CLOSED]
    missing[0], missing[18] = "GD2025-0012", ""  # a visited appeal without its rating
    f = tmp_path / "有错.csv"
    f.write_bytes(csv_bytes([CLOSED, bad_phone, bad_unit, backwards, missing]))
    with pytest.raises(CommandError, match="4 invalid rows"):
        run(f, "--dry-run")
    with pytest.raises(CommandError, match="nothing written"):
        run(f)
    assert Appeal.objects.count() == 0
    out = io.StringIO()
    with clock.frozen(NOW), pytest.raises(CommandError):
        call_command("import", str(f), "--dry-run", stdout=out)
    report = out.getvalue()
    assert "第 3 行" in report and "联系电话" in report
    assert "第 4 行" in report and "宇宙管理局" in report
    assert "第 5 行" in report and "签收时间" in report
    assert "第 6 行" in report and "满意度" in report
    assert "第 2 行" not in report
    # --skip-invalid imports the one good row.
    assert "Imported 1 appeals" in run(f, "--skip-invalid")
    assert Appeal.objects.count() == 1


def test_an_unreadable_file_is_refused(county: Directory, tmp_path: Path) -> None:
    f = tmp_path / "x.xlsx"
    f.write_bytes(b"not a workbook")
    with pytest.raises(CommandError, match="xlsx"):
        run(f)
    g = tmp_path / "x.csv"
    g.write_bytes("标题,内容\n你好,世界\n".encode())
    with pytest.raises(CommandError, match="受理时间"):
        run(g)


# The background worker (django_tasks_db's db_worker) closes and opens its connections between
# tasks, as it must in production: these tests commit for real.
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_upload_page_checks_then_imports(county: Directory) -> None:
    c = Client()
    c.force_login(user("admin"))
    upload = SimpleUploadedFile("台账.csv", csv_bytes([CLOSED, REPLIED]), content_type="text/csv")
    with clock.frozen(NOW):
        r = c.post(reverse("metrics:import"), {"file": upload})
    assert r.status_code == 200
    batch = ImportBatch.objects.get()
    assert (batch.rows, batch.valid, batch.invalid, batch.state) == (2, 2, 0, "checked")
    assert Appeal.objects.count() == 0
    with clock.frozen(NOW):
        r = c.post(reverse("metrics:import"), {"batch": batch.pk})
    assert r.status_code == 302
    # Queued for the background worker: nothing written yet, the page shows the progress bar
    # (and polls it), and confirming twice is refused.
    assert Appeal.objects.count() == 0
    batch.refresh_from_db()
    assert batch.state == "queued" and batch.task_id
    page = c.get(r["Location"]).content.decode()
    assert 'data-testid="import-progress"' in page and "等待后台任务开始导入" in page
    progress_url = reverse("metrics:import_progress", args=[batch.pk])
    assert f'hx-get="{progress_url}"' in page
    assert c.post(reverse("metrics:import"), {"batch": batch.pk}).status_code == 409
    with clock.frozen(NOW):
        call_command("db_worker", "--batch", "--no-startup-delay", "--no-reload")
    assert Appeal.objects.count() == 2
    batch.refresh_from_db()
    assert (batch.state, batch.imported) == ("imported", 2)
    # The bar's next poll reloads the page, which shows the outcome.
    done = c.get(progress_url, HTTP_HX_REQUEST="true")
    assert (done.status_code, done["HX-Refresh"]) == (204, "true")
    page = c.get(r["Location"]).content.decode()
    assert 'data-testid="import-progress"' not in page and "已导入" in page


# The background worker (django_tasks_db's db_worker) closes and opens its connections between
# tasks, as it must in production: these tests commit for real.
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_progress_bar_counts_the_replayed_steps(county: Directory) -> None:
    c = Client()
    c.force_login(user("admin"))
    upload = SimpleUploadedFile("台账.csv", csv_bytes([CLOSED, REPLIED]), content_type="text/csv")
    with clock.frozen(NOW):
        c.post(reverse("metrics:import"), {"file": upload})
        batch = ImportBatch.objects.get()
        c.post(reverse("metrics:import"), {"batch": batch.pk})
    with clock.frozen(NOW), progress_seen() as seen:
        call_command("db_worker", "--batch", "--no-startup-delay", "--no-reload")
    total = seen[-1][1]
    # A closed row replays register, dispatch, claim, reply, visit, close; a replied one four.
    assert total >= 10 and seen[-1] == (total, total)
    assert [d for d, _t in seen] == list(range(1, total + 1))


# The background worker (django_tasks_db's db_worker) closes and opens its connections between
# tasks, as it must in production: these tests commit for real.
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_refused_row_fails_the_background_import_and_writes_nothing(county: Directory) -> None:
    c = Client()
    c.force_login(user("admin"))
    upload = SimpleUploadedFile("台账.csv", csv_bytes([CLOSED]), content_type="text/csv")
    with clock.frozen(NOW):
        c.post(reverse("metrics:import"), {"file": upload})
        batch = ImportBatch.objects.get()
        c.post(reverse("metrics:import"), {"batch": batch.pk})
    # Meanwhile the unit the row names was removed: the replay refuses the row.
    Unit.objects.filter(code="zjj").update(active=False)
    with clock.frozen(NOW):
        call_command("db_worker", "--batch", "--no-startup-delay", "--no-reload")
    batch.refresh_from_db()
    assert batch.state == "failed" and batch.error
    assert Appeal.objects.count() == 0
    page = c.get(reverse("metrics:import"), {"batch": batch.pk}).content.decode()
    assert 'data-testid="import-error"' in page


def test_the_import_template_checks_clean(county: Directory) -> None:
    c = Client()
    c.force_login(user("admin"))
    page = c.get(reverse("metrics:import")).content.decode()
    assert reverse("metrics:import_template") in page
    r = c.get(reverse("metrics:import_template"))
    assert r.status_code == 200 and r["Content-Type"].startswith(XLSX)
    checked = importer.check("台账导入模板.xlsx", r.content)
    assert [row.state for row in checked.rows] == ["valid"]
    sheet = load_workbook(io.BytesIO(r.content)).worksheets[1]
    assert sheet["A1"].value and sheet.max_row == len(importer.COLUMNS) + 1
    c.force_login(user("supervisor"))
    assert c.get(reverse("metrics:import_template")).status_code == 403


@pytest.mark.parametrize("who", ["leader", "supervisor", "operator", "handler-zjj"])
def test_only_administrators_import(county: Directory, who: str) -> None:
    c = Client()
    c.force_login(user(who))
    assert c.get(reverse("metrics:import")).status_code == 403
    upload = SimpleUploadedFile("台账.csv", csv_bytes([CLOSED]), content_type="text/csv")
    assert c.post(reverse("metrics:import"), {"file": upload}).status_code == 403
    assert not ImportBatch.objects.exists()


def test_a_bad_batch_reference_is_refused_not_a_crash(county: Directory) -> None:
    c = Client()
    c.force_login(user("admin"))
    r = c.get(reverse("metrics:import"), {"batch": "abc"})
    assert r.status_code == 400
    assert "batch" in r.content.decode()
    assert c.get(reverse("metrics:import"), {"batch": "999"}).status_code == 400
    # A tampered confirmation imports nothing and goes back to the upload page.
    r = c.post(reverse("metrics:import"), {"batch": "1 OR 1=1"})
    assert (r.status_code, r["Location"]) == (302, reverse("metrics:import"))
    assert Appeal.objects.count() == 0
