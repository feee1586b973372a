"""The overview, rankings, drill-down and Excel pages: who may open them and what they show."""

from __future__ import annotations

import datetime as dt
import io
import re
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from openpyxl import load_workbook

from kuaiban.conftest import progress_seen, user
from kuaiban.core import clock
from kuaiban.metrics import services
from kuaiban.metrics.tests.ledger import NOW, Book, build
from kuaiban.org.demo import Directory

pytestmark = pytest.mark.django_db
JUNE = {"from": "2026-06-01", "to": "2026-06-30"}


@pytest.fixture
def book(county: Directory) -> Book:
    return build(county)


def client(username: str) -> Client:
    c = Client()
    c.force_login(user(username))
    return c


def get(who: str, name: str, params: dict[str, str] | None = None) -> Any:
    with clock.frozen(NOW):
        return client(who).get(reverse(name), params or {})


@pytest.mark.parametrize("who", ["leader", "supervisor", "admin"])
def test_the_overview_shows_every_figure_with_links(book: Book, who: str) -> None:
    r = get(who, "metrics:dashboard", JUNE)
    assert r.status_code == 200
    html = r.content.decode()
    assert 'data-testid="tile-received"' in html
    # received 6, linked to the ledger of June without merged and invalid appeals
    assert (
        "/appeals/?from=2026-06-01&amp;to=2026-06-30&amp;status=received%2Cdispatched%2C"
        "in_progress%2Creplied%2Cvisited%2Cclosed" in html
    )
    assert "50.0%" in html  # on-time claim 3/6
    assert "vendor/plotly.min.js" in html
    assert html.count('data-figure="') == 6  # trend, two tiers, channel, category, township
    for kind in ("department", "township"):  # each figure's data sits next to its element
        assert f'data-figure="fig-tier-{kind}"></div><script id="fig-tier-{kind}"' in html
    # and down to the period's hot issues
    assert '<a href="/routing/hot/?from=2026-06-01&amp;to=2026-06-30">本期热点问题' in html


@pytest.mark.parametrize("who", ["operator", "handler-zjj", "visitor"])
@pytest.mark.parametrize(
    "name", ["metrics:dashboard", "metrics:rankings", "metrics:rankings_xlsx", "metrics:drill"]
)
def test_other_roles_are_refused(county: Directory, who: str, name: str) -> None:
    assert get(who, name).status_code == 403


def test_bad_filters_say_why(book: Book) -> None:
    r = get("leader", "metrics:dashboard", {"from": "2026-06-31"})
    assert r.status_code == 400
    assert "2026-05-31" in r.content.decode()  # the example of a valid date


def test_with_no_dates_the_overview_shows_the_last_30_days(book: Book) -> None:
    # On 2 August "this month" would be two days; the default is the 30 days up to today.
    with clock.frozen(dt.datetime(2026, 8, 2, 9, 0, tzinfo=NOW.tzinfo)):
        html = client("leader").get(reverse("metrics:dashboard")).content.decode()
    assert "2026-07-04 — 2026-08-02" in html
    month = get("leader", "metrics:dashboard", {"period": "month"}).content.decode()
    assert "2026-07-01 — 2026-07-31" in month
    # The tile says what it counts: overdue at this moment, whenever received.
    assert "当前超期 · 此刻已过时限未办，不论何时受理" in month


def test_an_unknown_period_is_refused_by_name(book: Book) -> None:
    r = get("leader", "metrics:dashboard", {"period": "decade"})
    assert r.status_code == 400
    assert "decade" in r.content.decode()


def test_drill_lists_the_denominator_and_marks_the_numerator(book: Book) -> None:
    r = get("leader", "metrics:drill", {**JUNE, "metric": "on_time_reply_rate"})
    assert r.status_code == 200
    html = r.content.decode()
    for name in ("A1", "A2", "A3", "A4", "A7", "A8"):
        assert book.numbers[name] in html
    assert book.numbers["A5"] not in html and book.numbers["A9"] not in html
    assert html.count("✓</span>") == 4 and html.count("✗</span>") == 2


def test_drill_by_category_and_unit(book: Book) -> None:
    r = get("supervisor", "metrics:drill", {**JUNE, "metric": "received", "unit": "chengguan"})
    html = r.content.decode()
    assert book.numbers["A3"] in html and book.numbers["A4"] in html
    assert book.numbers["A1"] not in html


def test_rankings_page_and_its_excel(book: Book) -> None:
    r = get("leader", "metrics:rankings", {"month": "2026-06"})
    assert r.status_code == 200
    html = r.content.decode()
    assert "城关镇" in html and "★★★★★" in html
    x = get("leader", "metrics:rankings_xlsx", {"month": "2026-06"})
    assert x.status_code == 200
    assert x["Content-Type"].startswith("application/vnd.openxmlformats")
    wb = load_workbook(io.BytesIO(x.content))
    ws = wb.worksheets[1]
    rows = list(ws.iter_rows(values_only=True))
    assert rows[0][:4] == ("名次", "单位", "综合得分", "星级")
    assert rows[1][:4] == (1, "城关镇", 100, "★★★★★")
    # Rates are numbers shown as percentages, so the sheet sorts and sums.
    header = rows[0]
    claim = ws.cell(row=2, column=header.index("及时签收率") + 1)
    assert isinstance(claim.value, (int, float)) and 0 <= claim.value <= 1
    assert claim.number_format == "0.0%"
    with clock.frozen(NOW):
        data = services.rankings(dt.date(2026, 6, 1))
    first = data["tiers"][1]["units"][0]
    assert first.unit.name == "城关镇"
    assert claim.value == first.figures["on_time_claim_rate"]
    # The note under the table names the response rate as people read it.
    assert "及时签收率" in rows[-1][0] and "on_time_claim_rate" not in rows[-1][0]
    # July against June: each change says which figure moved ("名次 ↑1", "得分 −5.57"),
    # not a bare "↑1 (−5.57)".
    july = " ".join(
        get("leader", "metrics:rankings", {"month": "2026-07"}).content.decode().split()
    )
    changes = re.findall(r'<td class="nowrap">名次 (.*?)</td>', july)
    assert changes and all(
        re.match(r"(<span class=\"(up|down|muted)\">[↑↓—]|=)", c) for c in changes
    )
    assert re.search(r'<span class="muted">得分 [+-]?\d+\.\d\d</span>', july)


@pytest.mark.parametrize("month", ["2026-13", "junio", "2026"])
def test_rankings_excel_refuses_a_bad_month(book: Book, month: str) -> None:
    x = get("leader", "metrics:rankings_xlsx", {"month": month})
    assert x.status_code == 400
    assert "2026-05" in x.content.decode()  # says what a month looks like


def test_ledger_export_follows_the_filter_and_the_role(book: Book) -> None:
    params = {**JUNE, "unit": "zjj"}
    x = get("operator", "metrics:ledger_export", params)
    assert x.status_code == 200
    rows = list(load_workbook(io.BytesIO(x.content)).active.iter_rows(values_only=True))
    assert rows[0][:3] == ("诉求编号", "受理时间", "渠道")
    numbers = {r[0] for r in rows[1:]}
    # the ledger's view: the merged A5 is listed too (its status says so)
    assert numbers == {book.numbers[n] for n in ("A1", "A2", "A5", "A8")}
    assert rows[1][9] == "13812345678"  # operators see contacts in full
    # A handler sees only its unit's appeals, and masked phones of appeals it does not lead.
    h = get("handler-chengguan", "metrics:ledger_export", JUNE)
    rows = list(load_workbook(io.BytesIO(h.content)).active.iter_rows(values_only=True))
    assert {r[0] for r in rows[1:]} == {book.numbers["A3"], book.numbers["A4"]}


def test_ledger_export_refuses_a_bad_filter(book: Book) -> None:
    bad = get("leader", "metrics:ledger_export", {"channel": "telegram", "from": "2026-13-45"})
    assert bad.status_code == 400
    page = bad.content.decode()
    # In the app's layout, each field named with why, in Chinese.
    assert "<header" in page and 'data-testid="error-page"' in page
    assert 'data-field="channel"' in page and 'data-field="from"' in page
    assert "2026-11-23" in page and "telegram" in page


def test_the_ledger_page_links_to_its_export(book: Book) -> None:
    r = client("leader").get(reverse("appeals:ledger"), {"unit": "zjj"})
    assert reverse("metrics:ledger_export") + "?unit=zjj" in r.content.decode()


def test_the_overdue_list_shows_the_deadline_that_was_missed(book: Book) -> None:
    from django.utils import timezone

    a8 = book.flag_red("A8", NOW)  # dispatched on 2026-06-10, never claimed
    html = get("leader", "metrics:dashboard", JUNE).content.decode()
    assert a8.claim_due is not None and a8.claim_due != a8.reply_due
    claim_due = timezone.localtime(a8.claim_due).strftime("%Y-%m-%d %H:%M")
    assert f"签收 {claim_due}" in html


def worker() -> None:
    """Run what the background worker has queued, as ``kuaiban db_worker`` does."""
    with clock.frozen(NOW):
        call_command("db_worker", "--batch", "--no-startup-delay", "--no-reload")


def sheet_rows(content: bytes) -> list[tuple[Any, ...]]:
    return list(load_workbook(io.BytesIO(content)).active.iter_rows(values_only=True))


# The background worker (django_tasks_db's db_worker) closes and opens its connections between
# tasks, as it must in production: these tests commit for real.
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_large_export_is_built_in_the_background_for_its_requester_only(
    book: Book, settings: Any
) -> None:
    params = {**JUNE, "unit": "zjj"}
    small = get("operator", "metrics:ledger_export", params)  # 4 appeals: at once
    assert small.status_code == 200
    settings.KUAIBAN_EXPORT_BACKGROUND_ROWS = 3
    c = client("operator")
    with clock.frozen(NOW):
        r = c.get(reverse("metrics:ledger_export"), params)
    assert r.status_code == 302 and r["Location"].startswith("/metrics/exports/")
    page_url = r["Location"]
    job = page_url.split("/")[-2]
    progress_url = reverse("metrics:export_progress", args=[job])
    download_url = reverse("metrics:export_download", args=[job])
    for _reload in range(2):  # the page, reloaded, still shows the bar (and polls it)
        html = c.get(page_url).content.decode()
        assert 'data-testid="export-progress"' in html and f'hx-get="{progress_url}"' in html
        assert "等待后台任务开始导出" in html
    assert c.get(download_url).status_code == 404  # not built yet
    # Another user, whatever their role, cannot follow or download it.
    for other in ("supervisor", "admin", "handler-chengguan"):
        for url in (page_url, progress_url, download_url):
            assert client(other).get(url).status_code == 404, (other, url)
    with progress_seen() as seen:
        worker()
    assert seen == [(1, 5), (2, 5), (3, 5), (4, 5), (5, 5)]
    done = c.get(progress_url, HTTP_HX_REQUEST="true")
    assert (done.status_code, done["HX-Refresh"]) == (204, "true")
    html = c.get(page_url).content.decode()
    assert 'data-testid="export-ready"' in html and "4 条诉求已导出" in html
    assert f'href="{download_url}"' in html
    file = c.get(download_url)
    assert file.status_code == 200 and "attachment" in file["Content-Disposition"]
    # The same workbook as the synchronous export of the same filter.
    assert sheet_rows(file.content) == sheet_rows(small.content)
    for other in ("supervisor", "handler-chengguan"):
        assert client(other).get(download_url).status_code == 404


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_background_export_masks_and_scopes_as_the_synchronous_one(
    book: Book, settings: Any
) -> None:
    at_once = get("handler-chengguan", "metrics:ledger_export", JUNE)
    settings.KUAIBAN_EXPORT_BACKGROUND_ROWS = 1
    c = client("handler-chengguan")
    with clock.frozen(NOW):
        r = c.get(reverse("metrics:ledger_export"), JUNE)
    assert r.status_code == 302
    worker()
    job = r["Location"].split("/")[-2]
    file = c.get(reverse("metrics:export_download", args=[job]))
    rows = sheet_rows(file.content)
    assert {x[0] for x in rows[1:]} == {book.numbers["A3"], book.numbers["A4"]}
    assert rows == sheet_rows(at_once.content)
    # A bad filter is refused before anything is queued, naming the field.
    bad = c.get(reverse("metrics:ledger_export"), {"channel": "telegram"})
    assert bad.status_code == 400 and "channel" in bad.content.decode()
    # An id that is not a job's is no crash.
    assert c.get(reverse("metrics:export", args=["not-a-uuid"])).status_code == 404
