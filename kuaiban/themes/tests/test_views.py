"""The themes' pages: the public list and theme page (no login, no appeal content, numbers in
progress reports masked, confidential reports never counted), the staff desk's form, the
staff page per role."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from kuaiban.conftest import user
from kuaiban.core import clock
from kuaiban.org.demo import Directory
from kuaiban.themes.models import Theme
from kuaiban.themes.tests.ledger import NOW, SET_ON, Book, build_baseline
from kuaiban.themes.tests.ledger import build_theme_months as later

pytestmark = pytest.mark.django_db

FORM = {
    "title": "幸福里小区垃圾清运",
    "lead_unit": "cgj",
    "co_units": ["chengguan"],
    "target_pct": "50",
    "months": "3",
    "query": "垃圾 清运",
    "region": "330000001",
}


def _client(who: str | None) -> Client:
    client = Client()
    if who:
        client.force_login(user(who))
    return client


@pytest.fixture
def theme(county: Directory, django_capture_on_commit_callbacks: Any) -> tuple[Theme, Book]:
    book = build_baseline(county)
    with clock.frozen(SET_ON):
        r = _client("supervisor").post("/themes/desk/", FORM)
    assert r.status_code == 302, r.content.decode()[:2000]
    with django_capture_on_commit_callbacks(execute=True):
        later(book)
    found = Theme.objects.get()
    with clock.frozen(NOW):
        r = _client("handler-cgj").post(
            f"/themes/desk/{found.pk}/report/",
            {"report-on": "2026-10-10", "report-text": "已约谈物业，联系人电话13812345678。"},
        )
    assert r.status_code == 302
    return found, book


def test_public_pages_show_figures_and_no_appeal_content(theme: tuple[Theme, Book]) -> None:
    found, book = theme
    with clock.frozen(NOW):
        listing = _client(None).get("/themes/")
        page = _client(None).get(f"/themes/{found.pk}/")
    assert listing.status_code == 200 and page.status_code == 200
    text = listing.content.decode()
    assert "幸福里小区垃圾清运" in text and "城管局" in text and "目标已实现" in text
    body = page.content.decode()
    assert 'data-testid="baseline">3<' in body and 'data-testid="target">1.5<' in body
    assert 'data-testid="latest">1<' in body and 'data-testid="linked">15<' in body
    assert "联系人电话***********" in body and "13812345678" not in body
    # No appeal's number, words or submitter anywhere; the reports are not even counted.
    for number in book.numbers.values():
        assert number not in body and number not in text
    for words in ("三天没有清运", "李秀兰", "13912345678", "苍蝇"):
        assert words not in body, words
    assert page.context["fig"].linked == 15
    assert [m.volume for m in page.context["fig"].months] == [4, 3, 2, 2, 3, 1]


def test_the_desk_form_refuses_bad_input_beside_the_field(county: Directory) -> None:
    with clock.frozen(SET_ON):
        r = _client("supervisor").post("/themes/desk/", {**FORM, "target_pct": "150"})
        assert r.status_code == 400 and r.context["form"].errors["target_pct"]
        r = _client("supervisor").post("/themes/desk/", {**FORM, "hot_label": "某问题"})
        assert (r.status_code == 400 and "hot_label" in r.context["form"].errors) or (
            r.context["form"].non_field_errors()
        )
        assert _client("operator").post("/themes/desk/", FORM).status_code == 403
        assert _client("operator").get("/themes/desk/").context["form"] is None
    assert not Theme.objects.exists()


def test_the_staff_page_per_role(theme: tuple[Theme, Book]) -> None:
    found, book = theme
    path = f"/themes/desk/{found.pk}/"
    with clock.frozen(NOW):
        lead = _client("handler-cgj").get(path)
        sup = _client("supervisor").get(path)
        co = _client("handler-chengguan").get(path)
        other = _client("handler-zjj").get(path)
        anonymous = _client(None).get(path)
    assert (lead.status_code, sup.status_code, co.status_code) == (200, 200, 200)
    assert other.status_code == 404 and anonymous.status_code == 302
    assert lead.context["may_report"] and not lead.context["may_close"]
    assert sup.context["may_close"] and sup.context["may_review"] and not sup.context["may_report"]
    assert not co.context["may_report"] and not co.context["may_review"]
    # The supervisor sees every link; the lead unit (城管局) handles none of these appeals.
    assert len(sup.context["links"]) == 15 and sup.context["hidden"] == 0
    assert lead.context["links"] == [] and lead.context["hidden"] == 15
    assert book.numbers["oct0"] in sup.content.decode()
    assert book.numbers["oct0"] not in lead.content.decode()


def test_review_and_close_on_the_page(theme: tuple[Theme, Book]) -> None:
    found, book = theme
    base = f"/themes/desk/{found.pk}"
    with clock.frozen(NOW):
        r = _client("handler-cgj").post(f"{base}/close/", {"close-measure": "已整改"})
        assert r.status_code == 403
        r = _client("supervisor").post(
            f"{base}/review/", {"number": book.numbers["oct-wrong"], "decision": "rejected"}
        )
        assert r.status_code == 302
        r = _client("supervisor").post(f"{base}/close/", {"close-measure": ""})
        assert r.status_code == 400
        r = _client("supervisor").post(f"{base}/close/", {"close-measure": "垃圾站改建为密闭式。"})
        assert r.status_code == 302
        page = _client(None).get(f"/themes/{found.pk}/")
    assert page.context["fig"].linked == 14
    assert "垃圾站改建为密闭式。" in page.content.decode()
    found.refresh_from_db()
    assert found.status == "closed"


def test_unknown_and_out_of_range_ids_are_not_found(county: Directory, api: Any) -> None:
    for path in (
        "/themes/1/",
        "/themes/99999999999999999999/",
        "/themes/desk/99999999999999999999/",
    ):
        assert _client("supervisor").get(path).status_code == 404, path
    assert api("supervisor").get("/themes/99999999999999999999").status == 400
    assert api("supervisor").get("/themes/7").status == 404
