"""The themes API on the hand-built ledger (tests/ledger.py): exact figures, the review, the
errors that name their field, and who may do what (denials as well as grants)."""

from __future__ import annotations

from typing import Any

import pytest

from kuaiban.core import clock
from kuaiban.org.demo import Directory
from kuaiban.org.models import Role, User
from kuaiban.themes.models import ThemeLink
from kuaiban.themes.tests.ledger import EXPECTED, NOW, SET_ON, Book, at, build_baseline
from kuaiban.themes.tests.ledger import build_theme_months as later

pytestmark = pytest.mark.django_db

BODY = {
    "title": "幸福里小区垃圾清运",
    "lead_unit": "cgj",
    "co_units": ["chengguan"],
    "target_pct": 50,
    "months": 3,
    "query": "垃圾 清运",
}
TOWNSHIP = "330000001"  # 城关镇's region code (the demo county's first township)


def _create(api: Any, body: dict[str, Any] | None = None, who: str = "supervisor") -> Any:
    with clock.frozen(SET_ON):
        return api(who).post("/themes", body or {**BODY, "region": TOWNSHIP})


@pytest.fixture
def book(county: Directory) -> Book:
    return build_baseline(county)


@pytest.fixture
def theme(api: Any, book: Book, django_capture_on_commit_callbacks: Any) -> dict[str, Any]:
    r = _create(api)
    assert r.status == 201, r.body
    with django_capture_on_commit_callbacks(execute=True):
        later(book)
    return r.body  # type: ignore[no-any-return]


def _get(api: Any, theme_id: int, who: str = "supervisor") -> Any:
    with clock.frozen(NOW):
        return api(who).get(f"/themes/{theme_id}")


def test_created_from_a_search_with_its_baseline(api: Any, book: Book) -> None:
    r = _create(api)
    assert r.status == 201, r.body
    body = r.body
    assert body["status"] == "open" and body["source"] == "query"
    assert body["lead_unit"] == {"code": "cgj", "name": "城管局"}
    assert body["co_units"] == [{"code": "chengguan", "name": "城关镇"}]
    assert (body["start"], body["end"], body["months"]) == ("2026-09", "2026-11", 3)
    assert body["region"] == {"code": TOWNSHIP, "name": "城关镇"}
    # Linked at creation: the 9 baseline appeals (not the report, not 新华镇, not the invalid
    # one, not the heating complaint).
    assert body["linked_appeals"] == 9
    assert body["baseline"] == 3.0 and body["target"] == 1.5
    assert body["result"] == "pending"
    assert [(m["month"], m["volume"]) for m in body["monthly"]] == [
        ("2026-06", 4),
        ("2026-07", 3),
        ("2026-08", 2),
        ("2026-09", 0),
        ("2026-10", None),
        ("2026-11", None),
    ]
    linked = set(ThemeLink.objects.values_list("appeal__number", flat=True))
    for name in ("jun-report", "jun-xinhua", "jul-test", "aug-heating"):
        assert book.numbers[name] not in linked


def test_new_appeals_are_matched_after_commit(api: Any, theme: dict[str, Any], book: Book) -> None:
    r = _get(api, theme["id"])
    assert r.status == 200, r.body
    body = r.body
    assert [(m["month"], m["volume"], m["phase"]) for m in body["monthly"]] == EXPECTED["monthly"]
    assert body["linked_appeals"] == EXPECTED["linked"]
    assert (body["baseline"], body["target"]) == (EXPECTED["baseline"], EXPECTED["target"])
    assert body["result"] == "met"  # November (1) at or under 1.5, and November is over
    links = {
        link.appeal.number: link
        for link in ThemeLink.objects.select_related("appeal").filter(theme_id=theme["id"])
    }
    assert links[book.numbers["oct-similar"]].source == ThemeLink.Source.AUTO
    assert links[book.numbers["oct-similar"]].score is not None  # by similarity, not the search
    assert links[book.numbers["oct0"]].source == ThemeLink.Source.AUTO
    for name in ("oct-report", "oct-xinhua", "oct-heating"):
        assert book.numbers[name] not in links


def test_a_rejected_link_does_not_count(api: Any, theme: dict[str, Any], book: Book) -> None:
    number = book.numbers["oct-wrong"]
    with clock.frozen(NOW):
        r = api("handler-cgj").post(
            f"/themes/{theme['id']}/links/{number}", {"decision": "rejected"}
        )
    # The lead unit cannot open an appeal it does not handle: the link is not its to review.
    assert r.status == 404, r.body
    with clock.frozen(NOW):
        r = api("supervisor").post(
            f"/themes/{theme['id']}/links/{number}", {"decision": "rejected"}
        )
    assert r.status == 200 and r.body["state"] == "rejected", r.body
    body = _get(api, theme["id"]).body
    assert [m["volume"] for m in body["monthly"]] == [4, 3, 2, 2, 2, 1]
    assert body["linked_appeals"] == 14
    with clock.frozen(NOW):
        r = api("supervisor").post(f"/themes/{theme['id']}/links/{number}", {"decision": "maybe"})
    assert r.status == 400 and r.body["errors"][0]["field"] == "decision"


def test_links_listed_with_their_state(api: Any, theme: dict[str, Any], book: Book) -> None:
    with clock.frozen(NOW):
        api("supervisor").post(
            f"/themes/{theme['id']}/links/{book.numbers['oct-similar']}", {"decision": "rejected"}
        )
        listed = api("supervisor").get(f"/themes/{theme['id']}/links").body
    states = {i["number"]: i["state"] for i in listed["items"]}
    assert states[book.numbers["oct-similar"]] == "rejected"
    assert listed["hidden"] == 0 and len(listed["items"]) == 15


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"lead_unit": "nosuch"}, "lead_unit"),
        ({"co_units": ["cgj"]}, "co_units"),
        ({"co_units": ["nosuch"]}, "co_units"),
        ({"target_pct": 0}, "target_pct"),
        ({"target_pct": 101}, "target_pct"),
        ({"months": 0}, "months"),
        ({"months": 13}, "months"),
        ({"hot_issue": "幸福里 垃圾"}, "hot_issue"),  # with the query: both
        ({"query": None}, "hot_issue"),  # neither
        ({"query": "   "}, "query"),
        ({"region": "330000"}, "region"),  # the county, not a township
        ({"category": "nosuch"}, "category"),
        ({"start": "2026-13"}, "start"),
        ({"start": "2030-01"}, "start"),
        ({"title": ""}, "title"),
        ({"title": "题" * 201}, "title"),
        ({"target_pct": "fifty"}, "target_pct"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_bad_input_is_refused_naming_the_field(
    api: Any, county: Directory, change: dict[str, Any], field: str
) -> None:
    r = _create(api, {**BODY, "region": TOWNSHIP, **change})
    assert r.status == 400, r.body
    assert field in [e["field"] for e in r.body["errors"]], r.body
    assert not ThemeLink.objects.exists()


def test_a_hot_issue_that_is_not_there_is_refused(api: Any, county: Directory) -> None:
    body = {
        **BODY,
        "query": None,
        "hot_issue": {"label": "不存在的问题", "date_from": "2026-08-25"},
    }
    r = _create(api, body)
    assert r.status == 400 and r.body["errors"][0]["field"] == "hot_issue", r.body


@pytest.mark.parametrize("who", ["operator", "leader", "visitor", "handler-cgj", "grid"])
def test_only_supervisors_and_administrators_create(api: Any, book: Book, who: str) -> None:
    if who == "grid":
        who = _a_grid_worker()
    r = _create(api, who=who)
    assert r.status == 403, r.body
    assert _create(api, who="admin").status == 201


def _a_grid_worker() -> str:
    return str(User.objects.filter(role=Role.GRID_WORKER).values_list("username", flat=True)[0])


def test_who_reads_a_theme(api: Any, theme: dict[str, Any]) -> None:
    for who in (
        "supervisor",
        "admin",
        "leader",
        "operator",
        "visitor",
        "handler-cgj",
        "handler-chengguan",
    ):
        assert _get(api, theme["id"], who).status == 200, who
    for who in ("handler-zjj", _a_grid_worker()):
        assert _get(api, theme["id"], who).status == 404, who
        with clock.frozen(NOW):
            assert api(who).get("/themes").body == []
    assert api(None).get(f"/themes/{theme['id']}").status == 401


def test_progress_by_the_lead_unit_only(api: Any, theme: dict[str, Any]) -> None:
    path = f"/themes/{theme['id']}/reports"
    text = {"text": "已增设两处垃圾收集点，清运车改为每日两次。", "on": "2026-10-10"}
    with clock.frozen(NOW):
        assert api("handler-chengguan").post(path, text).status == 403  # a co-unit
        assert api("supervisor").post(path, text).status == 403
        assert api("handler-zjj").post(path, text).status == 404
        r = api("handler-cgj").post(path, text)
        assert r.status == 201 and r.body == {"on": "2026-10-10", "text": text["text"]}
        assert api("handler-cgj").post(path, {"text": "明天再说", "on": "2026-12-06"}).status == 400
        assert api("handler-cgj").post(path, {"text": ""}).status == 400
    assert _get(api, theme["id"]).body["reports"] == [{"on": "2026-10-10", "text": text["text"]}]


def test_closed_with_the_measure_by_a_supervisor(
    api: Any, theme: dict[str, Any], book: Book
) -> None:
    path = f"/themes/{theme['id']}/close"
    measure = {"measure": "幸福里小区垃圾站改建为密闭式，清运纳入城管局日常考核。"}
    with clock.frozen(NOW):
        assert api("handler-cgj").post(path, measure).status == 403
        assert api("supervisor").post(path, {"measure": " "}).status == 400
        r = api("supervisor").post(path, measure)
        assert r.status == 200 and r.body["status"] == "closed", r.body
        assert r.body["measure"] == measure["measure"]
        assert api("supervisor").post(path, measure).status == 409
        r = api("handler-cgj").post(f"/themes/{theme['id']}/reports", {"text": "补充"})
        assert r.status == 409
        number = book.numbers["oct0"]
        r = api("supervisor").post(
            f"/themes/{theme['id']}/links/{number}", {"decision": "rejected"}
        )
        assert r.status == 409


def test_a_closed_theme_matches_nothing_new(
    api: Any, book: Book, django_capture_on_commit_callbacks: Any
) -> None:
    theme_id = _create(api).body["id"]
    with clock.frozen(at("2026-09-30")):
        api("supervisor").post(f"/themes/{theme_id}/close", {"measure": "已整改"})
    with django_capture_on_commit_callbacks(execute=True):
        later(book)
    assert _get(api, theme_id).body["linked_appeals"] == 9
