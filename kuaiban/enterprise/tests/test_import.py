"""Importing the registry from Excel: the command and the upload page, dry run and report."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db import IntegrityError
from openpyxl import Workbook, load_workbook

from kuaiban.conftest import progress_seen
from kuaiban.core import jobs
from kuaiban.enterprise import services, tasks
from kuaiban.enterprise.models import Contact, Enterprise
from kuaiban.enterprise.services import imports
from kuaiban.enterprise.tests.conftest import bad_check_digit, code
from kuaiban.org.models import User

pytestmark = pytest.mark.django_db

HEADER = [
    "统一社会信用代码",
    "企业名称",
    "行业门类",
    "企业规模",
    "所属乡镇",
    "地址",
    "联系人",
    "联系电话",
]
GOOD = [
    [
        code(1),
        "清河县兴业机械制造有限公司",
        "C",
        "规上",
        "城关镇",
        "工业路8号",
        "王建军",
        13905310001,
    ],
    [code(2), "瑞丰食品有限公司", "制造业", "规下", "柳河镇", "", "李丽华", "13905310002"],
    [code(3), "恒通物流有限公司", "G 交通运输、仓储和邮政业", "规上", "双河镇", "", "", ""],
    [code(4), "天源光伏科技有限公司", "c", "在建项目", "新华镇", "", "张国强", "13905310004"],
]
BAD = [
    [bad_check_digit(code(5)), "坏代码有限公司", "C", "规上", "", "", "", ""],
    [code(6), "未知行业有限公司", "Z", "规上", "", "", "", ""],
    [code(7), "规模不明有限公司", "C", "特大", "", "", "", ""],
    [code(1), "重复代码有限公司", "C", "规上", "", "", "", ""],
    [code(8), "电话错误有限公司", "F", "规下", "", "", "赵德胜", "12345"],
    [code(9), "", "F", "规下", "火星乡", "", "", ""],
]


def workbook(rows: list[list[Any]], path: Path | None = None, header: list[str] = HEADER) -> Any:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(header)
    sheet.append([])  # a blank row is skipped, not reported
    for row in rows:
        sheet.append(row)
    if path is not None:
        book.save(path)
        return path
    buffer = io.BytesIO()
    book.save(buffer)
    buffer.seek(0)
    buffer.name = "企业名录.xlsx"
    return buffer


def run(*args: Any) -> str:
    out = io.StringIO()
    call_command("import_enterprises", *[str(a) for a in args], stdout=out)
    return out.getvalue()


def test_dry_run_reports_every_invalid_row_and_why_and_writes_nothing(
    county: Any, tmp_path: Path
) -> None:
    path = workbook(GOOD + BAD, tmp_path / "企业.xlsx")
    out = run(path, "--dry-run")
    assert "试导入，未写入任何数据" in out
    # Rows are numbered as in Excel: header is row 1, the blank row 2, data from row 3.
    lines = {line.split("（")[0]: line for line in out.splitlines() if line.startswith("第 ")}
    # Each reason names the column of the workbook, as its author knows it.
    assert "统一社会信用代码: 统一社会信用代码无效" in lines["第 7 行"]
    assert "行业门类: 无法识别的行业 'Z'" in lines["第 8 行"]
    assert "企业规模: 无法识别的企业规模 '特大'" in lines["第 9 行"]
    assert "与第 3 行的信用代码重复" in lines["第 10 行"]
    assert "联系电话:" in lines["第 11 行"]
    assert "企业名称: 此项为必填项" in lines["第 12 行"] and "所属乡镇:" in lines["第 12 行"]
    assert "credit_code:" not in out
    assert "新增 4，更新 0，无变化 0，有误 6" in out
    assert not Enterprise.objects.exists()


def test_nothing_is_written_while_any_row_is_invalid(county: Any, tmp_path: Path) -> None:
    path = workbook(GOOD + BAD, tmp_path / "企业.xlsx")
    with pytest.raises(CommandError, match=r"未写入任何数据：共 10 行.*有误 6"):
        run(path)
    assert not Enterprise.objects.exists()


def test_skip_invalid_writes_the_valid_rows(county: Any, tmp_path: Path) -> None:
    path = workbook(GOOD + BAD, tmp_path / "企业.xlsx")
    out = run(path, "--skip-invalid")
    assert "导入完成。共 10 行：新增 4，更新 0，无变化 0，有误 6" in out
    assert Enterprise.objects.count() == 4
    first = Enterprise.objects.get(credit_code=code(1))
    assert first.industry_id == "C" and first.size == "above"
    assert first.township is not None and first.township.name == "城关镇"
    assert Contact.objects.get(enterprise=first).phone == "13905310001"
    assert Enterprise.objects.get(credit_code=code(3)).industry_id == "G"
    assert Enterprise.objects.get(credit_code=code(4)).size == "construction"


def test_reimport_creates_no_duplicates_and_updates_in_place(county: Any, tmp_path: Path) -> None:
    path = workbook(GOOD, tmp_path / "企业.xlsx")
    assert "新增 4" in run(path)
    again = run(path)
    assert "新增 0，更新 0，无变化 4" in again
    assert Enterprise.objects.count() == 4 and Contact.objects.count() == 3
    changed = [row[:] for row in GOOD]
    changed[1][3] = "规上"  # 瑞丰食品 grew above the designated size
    changed[2][6:8] = ["孙宏伟", "13905310003"]  # 恒通物流 now has a contact
    out = run(workbook(changed, tmp_path / "企业2.xlsx"))
    assert "新增 0，更新 2，无变化 2" in out
    assert Enterprise.objects.count() == 4
    assert Enterprise.objects.get(credit_code=code(2)).size == "above"


def test_a_file_that_is_not_a_workbook_or_lacks_columns_is_refused(
    county: Any, tmp_path: Path
) -> None:
    junk = tmp_path / "企业.xlsx"
    junk.write_text("统一社会信用代码,企业名称\n")
    with pytest.raises(CommandError, match="不是 Excel 文件"):
        run(junk)
    missing = workbook(GOOD, tmp_path / "缺列.xlsx", header=["统一社会信用代码", "企业名称"])
    with pytest.raises(CommandError, match="缺少列：行业门类、企业规模"):
        run(missing)


def worker() -> None:
    """Run what the background worker has queued, as ``kuaiban db_worker`` does."""
    call_command("db_worker", "--batch", "--no-startup-delay", "--no-reload")


def job_of(response: Any) -> str:
    assert response.status_code == 302, response.content
    return str(response["Location"].split("?job=")[1])


# The background worker (django_tasks_db's db_worker) closes and opens its connections between
# tasks, as it must in production: these tests commit for real.
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_upload_page_dry_run_then_confirm_in_the_background(web: Any) -> None:
    client = web("operator")
    page = client.post("/enterprise/import/", {"file": workbook(GOOD + BAD[:2])})
    assert page.status_code == 200
    html = page.content.decode()
    assert 'data-testid="invalid-rows"' in html
    assert "坏代码有限公司" in html and "未知行业有限公司" in html
    # The reasons name the workbook's columns, not internal field names.
    assert '<span data-field="industry">行业门类：无法识别的行业' in html
    assert "credit_code:" not in html and "industry:" not in html
    assert not Enterprise.objects.exists()
    # Confirming without skip queues nothing while rows are invalid.
    refused = client.post("/enterprise/import/", {"confirm": "1"})
    assert refused.status_code == 400 and 'data-testid="invalid-rows"' in refused.content.decode()
    worker()
    assert not Enterprise.objects.exists()
    job = job_of(client.post("/enterprise/import/", {"confirm": "1", "skip_invalid": "1"}))
    # Queued: nothing written yet; the page (reloaded as often as one likes) shows the bar and
    # polls it.
    assert not Enterprise.objects.exists()
    for _reload in range(2):
        html = client.get("/enterprise/import/", {"job": job}).content.decode()
        assert 'data-testid="import-progress"' in html and "等待后台任务开始导入" in html
    progress_url = f"/enterprise/import/{job}/progress/"
    assert f'hx-get="{progress_url}"' in html
    assert client.get(progress_url).status_code == 200
    worker()
    assert Enterprise.objects.count() == 4
    # The bar's next poll reloads the page, which shows the outcome with its counts.
    done = client.get(progress_url, HTTP_HX_REQUEST="true")
    assert (done.status_code, done["HX-Refresh"]) == (204, "true")
    html = client.get("/enterprise/import/", {"job": job}).content.decode()
    assert 'data-testid="import-progress"' not in html
    assert 'data-testid="import-report"' in html and "已导入" in html
    assert "<b>4</b><span>新增</span>" in html and "坏代码有限公司" in html


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_progress_counts_the_rows_written(web: Any) -> None:
    client = web("operator")
    client.post("/enterprise/import/", {"file": workbook(GOOD)})
    job = job_of(client.post("/enterprise/import/", {"confirm": "1"}))
    with progress_seen() as seen:
        worker()
    assert seen == [(1, 4), (2, 4), (3, 4), (4, 4)]
    assert jobs.progress(tasks.progress_key(job)) == jobs.Progress(4, 4)


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_only_who_queued_an_import_sees_it(web: Any) -> None:
    client = web("operator")
    client.post("/enterprise/import/", {"file": workbook(GOOD)})
    job = job_of(client.post("/enterprise/import/", {"confirm": "1"}))
    other = web("admin")
    assert other.get("/enterprise/import/", {"job": job}).status_code == 404
    assert other.get(f"/enterprise/import/{job}/progress/").status_code == 404
    # A role without the registry desk is refused outright.
    assert web("leader").get("/enterprise/import/", {"job": job}).status_code == 403
    assert web("leader").get(f"/enterprise/import/{job}/progress/").status_code == 403
    # A malformed or unknown job id is a 404 naming the field, not a crash.
    for bad in ("not-a-uuid", "00000000-0000-0000-0000-000000000000"):
        r = client.get("/enterprise/import/", {"job": bad})
        assert r.status_code == 404 and "job" in r.content.decode()
        assert client.get(f"/enterprise/import/{bad}/progress/").status_code == 404


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_refused_background_import_says_so_and_writes_nothing(web: Any) -> None:
    client = web("operator")
    client.post("/enterprise/import/", {"file": workbook(GOOD)})
    job = job_of(client.post("/enterprise/import/", {"confirm": "1"}))
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(imports, "save_enterprise", _race)
        worker()
    assert not Enterprise.objects.exists()
    html = client.get("/enterprise/import/", {"job": job}).content.decode()
    assert 'data-testid="import-error"' in html and "导入期间企业库发生变化" in html


def _race(*args: Any) -> Any:
    raise IntegrityError("duplicate key")


def test_the_template_is_the_import_s_own_columns_with_an_example(web: Any) -> None:
    r = web("operator").get("/enterprise/import/template.xlsx")
    assert r.status_code == 200 and r["Content-Type"].startswith("application/vnd.openxml")
    assert "attachment" in r["Content-Disposition"]
    sheet = load_workbook(io.BytesIO(r.content)).worksheets[0]
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:4] == ("统一社会信用代码*", "企业名称*", "行业门类*", "企业规模*")
    assert rows[1][1] == "清河县兴业机械制造有限公司"
    # Read back by the importer, the example row is valid as it stands.
    report = services.enterprise_import(
        actor=User.objects.get(username="operator"),
        rows=services.read_workbook(io.BytesIO(r.content)),
        dry_run=True,
    )
    assert (report.n_create, len(report.invalid)) == (1, 0)
    assert web("leader").get("/enterprise/import/template.xlsx").status_code == 403


def test_upload_api_dry_run_by_default(api: Any) -> None:
    from django.test import Client

    from kuaiban.org.models import User
    from kuaiban.org.services import token_create

    key = token_create(user=User.objects.get(username="operator"))
    client = Client(headers={"Authorization": f"Bearer {key}"})
    r = client.post("/api/v1/enterprises/import", {"file": workbook(GOOD + BAD[:1])})
    assert r.status_code == 200, r.content
    body = r.json()
    assert body["dry_run"] is True and body["written"] is False
    assert body["create"] == 4 and body["invalid"] == 1
    assert body["rows"][4]["errors"][0]["field"] == "credit_code"
    r = client.post(
        "/api/v1/enterprises/import?dry_run=false&skip_invalid=true",
        {"file": workbook(GOOD + BAD[:1])},
    )
    assert r.json()["written"] is True
    assert Enterprise.objects.count() == 4


def test_only_the_registry_desk_may_import(web: Any, api: Any) -> None:
    assert web("handler-jfj").get("/enterprise/import/").status_code == 403
    assert web("leader").post("/enterprise/import/", {"file": workbook(GOOD)}).status_code == 403
    assert not Enterprise.objects.exists()
