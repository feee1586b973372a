"""Assessment tiers (分层分档), periods and the village score (星级村): exact figures on the
hand-built ledger, tiers and star bands changed by an administrator, the API's contract and
validation, who may read it, and the public village page."""

from __future__ import annotations

import datetime as dt
from fractions import Fraction as F
from typing import Any

import pytest
from django.test import Client

from kuaiban.appeals import services as appeals
from kuaiban.conftest import user
from kuaiban.core import clock
from kuaiban.core.errors import ValidationFailed
from kuaiban.metrics import periods, services
from kuaiban.metrics.models import Scoring, Tier, VillageScheme
from kuaiban.metrics.tests.ledger import (
    NOW,
    Book,
    at,
    build,
    close,
    dispatch,
    rated,
    register,
    step,
    visit,
)
from kuaiban.org.demo import Directory
from kuaiban.org.models import Role, Unit, User

pytestmark = pytest.mark.django_db

Q2 = periods.Period(periods.QUARTER, dt.date(2026, 4, 1))
Q3 = periods.Period(periods.QUARTER, dt.date(2026, 7, 1))


@pytest.fixture
def book(county: Directory) -> Book:
    return build(county)


def village_code(d: Directory, index: int) -> str:
    return f"v{d.villages[index].code}"


def answered_and_satisfied(d: Directory, village: int, day: str, **fields: Any) -> str:
    """A consultation that arose in a village, answered at intake, rated satisfied, closed."""
    n = register(
        d, at(day, "09:00"), kind="consultation", region=d.villages[village].code, **fields
    )
    step(
        at(day, "09:10"),
        appeals.appeal_answer,
        actor=user("operator"),
        number=n,
        text="已电话告知办理地点和所需材料。",
    )
    visit(n, at(day, "15:00"), **rated("satisfied"))
    close(n, at(day, "16:00"))
    return n


def ranked(period: periods.Period, tier: str) -> dict[str, services.Ranked]:
    with clock.frozen(NOW):
        data = services.rankings(period, tier)
    return {r.unit.code: r for r in data["tiers"][0]["units"]}


def admin_client() -> Client:
    c = Client()
    c.force_login(user("admin"))
    return c


# ----- periods -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "kind", "start", "end", "previous"),
    [
        ("2026-11", "month", dt.date(2026, 11, 1), dt.date(2026, 11, 30), "2026-10"),
        ("2026-01", "month", dt.date(2026, 1, 1), dt.date(2026, 1, 31), "2025-12"),
        ("2026-Q4", "quarter", dt.date(2026, 10, 1), dt.date(2026, 12, 31), "2026-Q3"),
        ("2026-q1", "quarter", dt.date(2026, 1, 1), dt.date(2026, 3, 31), "2025-Q4"),
        ("2026", "year", dt.date(2026, 1, 1), dt.date(2026, 12, 31), "2025"),
    ],
)
def test_one_cleaner_reads_months_quarters_and_years(
    text: str, kind: str, start: dt.date, end: dt.date, previous: str
) -> None:
    p = periods.parse_period(text)
    assert p is not None
    assert (p.kind, p.start, p.end, p.previous().label) == (kind, start, end, previous)


@pytest.mark.parametrize("text", ["2026-Q5", "2026-Q0", "2026-13", "26-11", "Q4", "1800", "2026-"])
def test_a_bad_period_names_the_field(text: str) -> None:
    with pytest.raises(ValidationFailed) as exc:
        periods.parse_period(text)
    assert [e.field for e in exc.value.errors] == ["period"]


# ----- the village score -------------------------------------------------------------------------


def test_village_score_of_the_june_ledger_matches_the_hand_count(book: Book) -> None:
    d = book.d
    with clock.frozen(NOW):
        counts = services.village_counts(
            services.Scope(Q2.start, Q2.end), [d.units[village_code(d, 0)]]
        )[d.units[village_code(d, 0)].pk]
    r = services.rates(counts)
    # Every appeal of the ledger arose in 南关社区: A1 A2 A3 A4 A7 A8 (A5 merged, A6 invalid).
    assert counts.received == 6
    assert (r["closure_rate"], r["on_time_reply_rate"]) == (F(4, 6), F(4, 6))
    assert (r["satisfaction_rate"], r["authenticity_rate"], r["on_spot_rate"]) == (1, 1, 0)
    # 20 % closure + 20 % on time + 30 % satisfaction + 10 % authenticity + 20 % on the spot.
    expected = 100 * (F(20) * F(4, 6) + F(20) * F(4, 6) + 30 + 10 + 0) / 100
    assert services.village_score(r, VillageScheme.current()) == expected == F(200, 3)
    rows = ranked(Q2, "village")
    nanguan = rows[village_code(d, 0)]
    assert (nanguan.rank, nanguan.figures["score"], nanguan.stars) == (1, 66.67, 2)
    assert nanguan.figures["on_time_claim_rate"] is None  # a dispatch figure, not a village's
    assert all(r.rank is None for code, r in rows.items() if code != village_code(d, 0))
    assert len(rows) == 23


def test_change_is_places_gained_since_the_previous_quarter(book: Book) -> None:
    d = book.d
    # July: 北关社区 has a consultation answered, satisfied and closed: 80 points, four stars.
    with clock.frozen(NOW):
        answered_and_satisfied(d, 1, "2026-07-02")
    rows = ranked(Q3, "village")
    north, south = rows[village_code(d, 1)], rows[village_code(d, 0)]
    assert (north.rank, north.figures["score"], north.stars, north.change) == (1, 80.0, 4, None)
    # 南关社区: A9 only, open past its reply deadline: 0 of 1 closed, 0 of 1 on time → 0 points.
    assert (south.rank, south.figures["score"], south.stars) == (2, 0.0, 1)
    assert (south.previous_rank, south.change) == (1, -1)


def test_confidential_reports_never_count_for_a_village(book: Book) -> None:
    d = book.d
    with clock.frozen(NOW):
        answered_and_satisfied(d, 2, "2026-07-03", title="举报村干部", channel="hotline")
        a = register(d, at("2026-07-06"), kind="report", region=d.villages[3].code)
    assert a
    rows = ranked(Q3, "village")
    assert rows[village_code(d, 2)].figures["received"] == 1  # the consultation
    reported = rows[village_code(d, 3)]
    assert (reported.rank, reported.figures["received"], reported.stars) == (None, 0, None)


def test_star_bands_changed_in_the_admin_change_the_stars(book: Book) -> None:
    before = ranked(Q2, "village")[village_code(book.d, 0)]
    assert before.stars == 2
    r = admin_client().post(
        "/admin/metrics/villagescheme/add/",
        {
            "closure_weight": "20",
            "on_time_weight": "20",
            "satisfaction_weight": "30",
            "authenticity_weight": "10",
            "on_spot_weight": "20",
            "star5_min": "95",
            "star4_min": "66",
            "star3_min": "60",
            "star2_min": "50",
        },
    )
    assert r.status_code == 302, r.content.decode()[:2000]
    after = ranked(Q2, "village")[village_code(book.d, 0)]
    assert (after.figures["score"], after.stars) == (66.67, 4)
    # Bands that do not fall from five stars to two are refused, and nothing changes.
    bad = admin_client().post(
        f"/admin/metrics/villagescheme/{VillageScheme.current().pk}/change/",
        {
            "closure_weight": "20",
            "on_time_weight": "20",
            "satisfaction_weight": "30",
            "authenticity_weight": "10",
            "on_spot_weight": "20",
            "star5_min": "50",
            "star4_min": "66",
            "star3_min": "60",
            "star2_min": "50",
        },
    )
    assert bad.status_code == 200 and "errornote" in bad.content.decode()
    assert VillageScheme.current().star5_min == 95


# ----- tiers -------------------------------------------------------------------------------------


def test_the_migration_seeds_one_tier_per_kind() -> None:
    assert list(Tier.objects.values_list("slug", "kind", "scoring")) == [
        ("department", "department", "unit"),
        ("township", "township", "unit"),
        ("village", "village", "village"),
        ("grid", "grid", "unit"),
    ]


def test_a_tier_defined_in_the_admin_ranks_its_members_only(book: Book) -> None:
    d = book.d
    r = admin_client().post(
        "/admin/metrics/tier/add/",
        {
            "slug": "key-work",
            "name": "重点工作单位",
            "kind": "",
            "members": [d.units["zjj"].pk, d.units["chengguan"].pk],
            "scoring": Scoring.UNIT,
            "position": "50",
            "active": "on",
        },
    )
    assert r.status_code == 302, r.content.decode()[:2000]
    rows = ranked(Q2, "key-work")
    # A department and a township compared on the composite score: 城关镇 100, 住建局 60.
    assert [(c, x.rank, x.figures["score"], x.stars) for c, x in rows.items()] == [
        ("chengguan", 1, 100.0, 5),
        ("zjj", 2, 60.0, 1),
    ]
    # Listing members on the department tier narrows it to them.
    department = Tier.objects.get(slug="department")
    other = Unit.objects.filter(kind=Unit.Kind.DEPARTMENT).exclude(code="zjj").first()
    assert other is not None
    department.members.set([d.units["zjj"], other])
    # 住建局 ranked first (60 points); the other department has nothing scored.
    assert list(ranked(Q2, "department")) == ["zjj", other.code]
    # An inactive tier is no longer listed, nor may it be asked for.
    Tier.objects.filter(slug="key-work").update(active=False)
    with clock.frozen(NOW):
        slugs = [t["slug"] for t in services.rankings(Q2)["tiers"]]
        assert slugs == ["department", "township", "village", "grid"]
        with pytest.raises(ValidationFailed):
            services.rankings(Q2, "key-work")


# ----- the API -----------------------------------------------------------------------------------


def get(api: Any, who: str | None, **params: Any) -> Any:
    with clock.frozen(NOW):
        return api(who).get("/rankings", **params)


@pytest.mark.parametrize("tier", ["village", "department", "township"])
def test_rankings_contract_by_period_and_tier(api: Any, book: Book, tier: str) -> None:
    r = get(api, "leader", period="2026-Q2", tier=tier)
    assert r.status == 200, r.body
    assert (r.body["period"], r.body["period_kind"], r.body["tier"]) == ("2026-Q2", "quarter", tier)
    assert r.body["items"]
    for item in r.body["items"]:
        assert {"unit", "score", "rank", "stars", "change"} <= set(item)
        assert item["stars"] is None or 1 <= item["stars"] <= 5
    first = r.body["items"][0]
    expected = {
        "village": (village_code(book.d, 0), 66.67, 1, 2),
        "department": ("zjj", 60.0, 1, 1),
        "township": ("chengguan", 100.0, 1, 5),
    }[tier]
    assert (first["unit"], first["score"], first["rank"], first["stars"]) == expected
    assert first["change"] is None  # nothing ranked in 2026-Q1


def test_month_still_works_and_period_wins(api: Any, book: Book) -> None:
    old = get(api, "leader", month="2026-06")
    assert old.status == 200 and old.body["period"] == "2026-06" and old.body["items"] == []
    both = get(api, "leader", month="2026-06", period="2026")
    assert (both.body["period"], both.body["period_kind"]) == ("2026", "year")


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"period": "2026-Q5"}, "period"),
        ({"period": "2026-13"}, "period"),
        ({"period": "0001"}, "period"),
        ({"tier": "nope"}, "tier"),
        ({"month": "June"}, "month"),
    ],
)
def test_bad_input_is_a_400_naming_the_field(
    api: Any, county: Directory, params: dict[str, str], field: str
) -> None:
    r = get(api, "leader", **params)
    assert r.status == 400, r.body
    assert [e["field"] for e in r.body["errors"]] == [field]


@pytest.mark.parametrize("who", ["supervisor", "admin", "leader"])
def test_leaders_supervisors_and_admins_may_read(api: Any, county: Directory, who: str) -> None:
    assert get(api, who, period="2026-Q2", tier="village").status == 200


def test_others_may_not_read_the_rankings(api: Any, county: Directory) -> None:
    worker = User.objects.filter(role=Role.GRID_WORKER).first()
    assert worker is not None
    village_handler = f"handler-{village_code(county, 0)}"
    for who in ["operator", "handler-zjj", "visitor", worker.username, village_handler]:
        r = get(api, who, period="2026-Q2", tier="village")
        assert r.status == 403, who
    assert get(api, None, period="2026-Q2", tier="village").status == 401


# ----- pages -------------------------------------------------------------------------------------


def page(who: str | None, path: str, params: dict[str, str] | None = None) -> Any:
    c = Client()
    if who:
        c.force_login(user(who))
    with clock.frozen(NOW):
        return c.get(path, params or {})


def test_assessment_page_shows_every_tier_with_the_figures_behind(book: Book) -> None:
    r = page("leader", "/metrics/assessment/", {"period": "2026-Q2"})
    assert r.status_code == 200
    html = r.content.decode()
    for slug in ("department", "township", "village", "grid"):
        assert f'data-testid="tier-{slug}"' in html
    code = village_code(book.d, 0)
    region = book.d.villages[0].code
    # The village's figures lead to the ledger of the quarter, by unit and by its region.
    assert f"from=2026-04-01&amp;to=2026-06-30&amp;region={region}" in html
    assert f'data-testid="behind-{code}"' in html
    assert "66.7" in html


def test_assessment_page_refuses_a_bad_period_and_strangers(book: Book) -> None:
    bad = page("leader", "/metrics/assessment/", {"period": "2026-Q5"})
    assert bad.status_code == 400
    for who in ("operator", "handler-zjj", "visitor"):
        assert page(who, "/metrics/assessment/", {"period": "2026-Q2"}).status_code == 403
    anonymous = page(None, "/metrics/assessment/")
    assert anonymous.status_code == 302 and "/login/" in anonymous["Location"]


def test_public_village_page_shows_stars_and_no_appeal(book: Book) -> None:
    listing = page(None, "/stars/")
    assert listing.status_code == 200
    assert "南关社区" in listing.content.decode()
    r = page(None, "/stars/", {"village": village_code(book.d, 0)})
    assert r.status_code == 200
    html = r.content.decode()
    # The last completed quarters and months; June 2026 and its quarter: 66.7 points, two stars.
    assert "2026-Q2" in html and "2025-Q3" in html and "2026-06" in html and "2026-01" in html
    assert html.count("66.7") == 2
    a1 = book.appeal("A1")
    for secret in (a1.number, a1.title, "阳光花园", "王建华", "13812345678", "住建局"):
        assert secret not in html
    unknown = page(None, "/stars/", {"village": "nope"})
    assert unknown.status_code == 400
    assert 'data-field="village"' in unknown.content.decode()


def test_public_page_lists_only_village_tier_members(book: Book) -> None:
    html = page(None, "/stars/").content.decode()
    assert "住建局" not in html and "城关镇第1网格" not in html
    Tier.objects.filter(scoring=Scoring.VILLAGE).update(active=False)
    assert "南关社区" not in page(None, "/stars/").content.decode()
    assert Unit.objects.filter(kind=Unit.Kind.VILLAGE).count() == 23


def test_a_village_counts_what_it_led_and_what_arose_in_it_once_each(book: Book) -> None:
    d = book.d
    north, west = village_code(d, 1), village_code(d, 2)
    zjj_before = ranked(Q3, "department")["zjj"].figures["received"]
    with clock.frozen(NOW):
        at_home = register(d, at("2026-07-02"), region=d.villages[1].code)
        next_door = register(d, at("2026-07-02", "10:00"), region=d.villages[2].code)
        by_department = register(d, at("2026-07-02", "11:00"), region=d.villages[2].code)
        for n, unit in ((at_home, north), (next_door, north), (by_department, "zjj")):
            dispatch(n, at("2026-07-02", "14:00"), unit)
    rows = ranked(Q3, "village")
    # 北关: its own appeal once (led and arising there) and the one it led next door.
    assert rows[north].figures["received"] == 2
    # 西关: the two that arose there, whoever led them.
    assert rows[west].figures["received"] == 2
    # Every tier at once (one scan on PostgreSQL) gives each tier's figures as asked alone.
    with clock.frozen(NOW):
        every = {t["slug"]: t["units"] for t in services.rankings(Q3)["tiers"]}
    for slug in ("department", "township", "village", "grid"):
        alone = ranked(Q3, slug)
        assert {r.unit.code: r.figures for r in every[slug]} == {
            c: r.figures for c, r in alone.items()
        }
    zjj = {r.unit.code: r.figures for r in every["department"]}["zjj"]
    assert zjj["received"] == zjj_before + 1  # and the one it leads in July
