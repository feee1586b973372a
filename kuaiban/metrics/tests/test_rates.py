"""The rates of a hand-built ledger, compared with fractions worked out by hand."""

from __future__ import annotations

import datetime as dt
from fractions import Fraction as F
from typing import Any

import pytest
from django.core.management import call_command

from kuaiban.core import clock
from kuaiban.metrics import services
from kuaiban.metrics.models import AppealFact, ScoreScheme
from kuaiban.metrics.tests.ledger import NOW, Book, build
from kuaiban.org.demo import Directory
from kuaiban.org.models import Unit

pytestmark = pytest.mark.django_db

JUNE = services.Scope(dt.date(2026, 6, 1), dt.date(2026, 6, 30))


@pytest.fixture
def book(county: Directory) -> Book:
    return build(county)


def rates_of(scope: services.Scope) -> dict[str, Any]:
    with clock.frozen(NOW):
        counts = services.total(scope)
        return {"received": counts.received, **services.rates(counts)}


def test_county_rates_for_june_match_the_hand_count(book: Book) -> None:
    # Received in June, neither merged (A5) nor invalid (A6): A1 A2 A3 A4 A7 A8.
    assert rates_of(JUNE) == {
        "received": 6,
        # dispatches: A1 A2 A3×2 A4 A8 = 6; claimed by the deadline: A1, A3 (城关镇), A4.
        "on_time_claim_rate": F(3, 6),
        "return_rate": F(1, 6),
        # closed: A1 A2 A3 A7.
        "closure_rate": F(4, 6),
        # replied A1 A2 A3 A4 A7 (A2 late; A4 on time thanks to its extension) + A8 overdue.
        "on_time_reply_rate": F(4, 6),
        # visits attempted A1 A2 A3 A7; rated A1 A2 A3 (A7 ended unrated after three calls).
        "participation_rate": F(3, 4),
        # the latest rating counts: A3 was dissatisfied, reworked, then satisfied.
        "satisfaction_rate": F(3, 3),
        "resolution_rate": F(2, 3),
        "authenticity_rate": F(3, 3),
        # reworked A3 of the five replied.
        "rework_rate": F(1, 5),
        "co_handling_rate": None,  # no co-unit parts in this ledger
        "on_spot_rate": F(0, 1),  # no grid worker resolved any on the spot
    }


def test_each_unit_carries_its_own_dispatches_and_appeals(book: Book, county: Directory) -> None:
    zjj = rates_of(services.Scope(JUNE.date_from, JUNE.date_to, unit=county.units["zjj"]))
    # 住建局 holds A1 A2 A8, and was dispatched A3 too (which it returned).
    assert zjj == {
        "received": 3,
        "on_time_claim_rate": F(1, 4),
        "return_rate": F(1, 4),
        "closure_rate": F(2, 3),
        "on_time_reply_rate": F(1, 3),
        "participation_rate": F(2, 2),
        "satisfaction_rate": F(2, 2),
        "resolution_rate": F(1, 2),
        "authenticity_rate": F(2, 2),
        "rework_rate": F(0, 2),
        "co_handling_rate": None,  # no co-unit parts in this ledger
        "on_spot_rate": F(0, 1),  # no grid worker resolved any on the spot
    }
    town = rates_of(services.Scope(JUNE.date_from, JUNE.date_to, unit=county.units["chengguan"]))
    assert town == {
        "received": 2,
        "on_time_claim_rate": F(2, 2),
        "return_rate": F(0),
        "closure_rate": F(1, 2),
        "on_time_reply_rate": F(2, 2),
        "participation_rate": F(1, 1),
        "satisfaction_rate": F(1, 1),
        "resolution_rate": F(1, 1),
        "authenticity_rate": F(1, 1),
        "rework_rate": F(1, 2),
        "co_handling_rate": None,  # no co-unit parts in this ledger
        "on_spot_rate": F(0, 1),  # no grid worker resolved any on the spot
    }


def test_no_rated_visit_gives_null_not_zero(book: Book) -> None:
    web = rates_of(services.Scope(JUNE.date_from, JUNE.date_to, channel="web"))  # only A7
    assert web["received"] == 1
    assert web["participation_rate"] == 0
    assert web["satisfaction_rate"] is None
    assert web["resolution_rate"] is None
    assert web["authenticity_rate"] is None
    assert web["on_time_claim_rate"] is None  # answered at intake: never dispatched
    assert web["return_rate"] is None


def test_an_empty_period_is_all_null(book: Book) -> None:
    empty = rates_of(services.Scope(dt.date(2026, 5, 1), dt.date(2026, 5, 31)))
    assert empty["received"] == 0
    assert all(v is None for k, v in empty.items() if k != "received")


def test_the_extension_is_what_makes_a4_on_time(book: Book) -> None:
    grid = rates_of(services.Scope(JUNE.date_from, JUNE.date_to, channel="grid"))  # only A4
    assert grid["on_time_reply_rate"] == 1
    # Without the approved extension the same reply would have been late.
    a4 = book.appeal("A4")
    first_due = next(e for e in a4.events.order_by("seq") if e.action == "extension_approved")
    assert dt.datetime.fromisoformat(first_due.payload["previous"]) < a4.replied_at  # type: ignore[operator]
    assert (
        services.total(services.Scope(JUNE.date_from, JUNE.date_to, channel="grid")).extensions == 1
    )


def test_an_unreplied_appeal_counts_only_once_its_deadline_passed(book: Book) -> None:
    a8 = book.appeal("A8")
    assert a8.reply_due is not None
    before = a8.reply_due - dt.timedelta(hours=1)
    with clock.frozen(before):
        counts = services.total(JUNE)
    # A8 is not yet due: the denominator is the five replied appeals only.
    assert services.rates(counts)["on_time_reply_rate"] == F(4, 5)
    assert rates_of(JUNE)["on_time_reply_rate"] == F(4, 6)


def test_appeals_belong_to_the_month_they_were_received(book: Book) -> None:
    # A2 was replied, visited and closed in July, but counts in June; A9 is July's only appeal.
    july = rates_of(services.Scope(dt.date(2026, 7, 1), dt.date(2026, 7, 31)))
    assert july["received"] == 1
    assert july["closure_rate"] == 0
    assert july["on_time_claim_rate"] == 1


def test_score_is_the_weighted_mean_of_the_three_rates(book: Book, county: Directory) -> None:
    scheme = ScoreScheme.current()
    with clock.frozen(NOW):
        zjj = services.total(services.Scope(JUNE.date_from, JUNE.date_to, unit=county.units["zjj"]))
    # response = on-time claim 1/4, resolution 1/2, satisfaction 1: 30/35/35.
    assert services.score(services.rates(zjj), scheme) == 100 * (
        F(30, 100) * F(1, 4) + F(35, 100) * F(1, 2) + F(35, 100) * 1
    )
    # An administrator may weigh the on-time reply rate as "response" instead.
    ScoreScheme.objects.create(
        response_metric="on_time_reply_rate",
        response_weight=20,
        resolution_weight=40,
        satisfaction_weight=40,
    )
    scheme = ScoreScheme.current()
    assert services.score(services.rates(zjj), scheme) == 100 * (
        F(20, 100) * F(1, 3) + F(40, 100) * F(1, 2) + F(40, 100) * 1
    )


def test_the_facts_rebuild_to_the_same_rows(book: Book) -> None:
    before = rates_of(JUNE)
    rows = AppealFact.objects.count()
    call_command("rollup", "--rebuild", verbosity=0)
    assert AppealFact.objects.count() == rows
    assert rates_of(JUNE) == before


def test_rankings_put_each_tier_in_order_with_change_and_stars(book: Book) -> None:
    with clock.frozen(NOW):
        june = services.rankings(dt.date(2026, 6, 1))
        july = services.rankings(dt.date(2026, 7, 1))
    departments, townships, villages, grids = june["tiers"]
    assert [t["kind"] for t in june["tiers"]] == [
        Unit.Kind.DEPARTMENT,
        Unit.Kind.TOWNSHIP,
        Unit.Kind.VILLAGE,
        Unit.Kind.GRID,
    ]
    assert all(r.rank is None for r in grids["units"])  # no appeal of theirs
    # Every appeal arose in 南关社区: the only village scored (its figures: test_tiers.py).
    assert [r.unit.name for r in villages["units"] if r.rank is not None] == ["南关社区"]
    top = townships["units"][0]
    assert (top.unit.code, top.rank, top.figures["score"], top.stars) == ("chengguan", 1, 100.0, 5)
    zjj = departments["units"][0]
    # 30%·1/4 + 35%·1/2 + 35%·1 = 60 points: one star.
    assert (zjj.unit.code, zjj.rank, zjj.figures["score"], zjj.stars) == ("zjj", 1, 60.0, 1)
    # Units with nothing to score are listed unranked, after the ranked ones.
    assert all(r.rank is None for r in departments["units"][1:])
    # July: 住建局 has one claimed appeal and nothing rated yet → unscored; June's rank is kept.
    zjj_july = next(r for r in july["tiers"][0]["units"] if r.unit.code == "zjj")
    assert zjj_july.previous_rank == 1
    assert zjj_july.figures["score"] is None
    assert zjj_july.rank_change is None


def test_all_groupings_in_one_scan_match_one_by_one(book: Book) -> None:
    dims = ["day", "unit", "channel", "category", "region"]
    with clock.frozen(NOW):
        many = services.grouped_many(JUNE, dims)
        for d in dims:
            one = services.grouped(JUNE, d)
            assert [(g.key, g.name, g.counts) for g in many[d]] == [
                (g.key, g.name, g.counts) for g in one
            ]


def test_overdue_follows_the_red_flag_of_the_deadline_sweep(book: Book) -> None:
    from kuaiban.conftest import user
    from kuaiban.metrics.overview import overview

    a8 = book.flag_red("A8", NOW)
    with clock.frozen(NOW):
        ov = overview(user=user("leader"), scope=JUNE)
    assert ov.overdue_count == 1
    assert [a.number for a in ov.overdue] == [a8.number]
    # Ordered by the deadline it missed: A8 was never claimed, so its claim deadline.
    fact = AppealFact.objects.get(appeal=a8, lead=True)
    assert a8.claim_due is not None and a8.claim_due < (a8.reply_due or a8.claim_due)
    assert fact.due == a8.claim_due
