"""Hot-issue grouping (kuaiban.routing.hot) on a hand-labelled fixture.

The fixture holds 11 problems reported 3–5 times each in different words (same place, same
problem), plus 13 unrelated appeals, some about the same place or the same kind of problem as a
group (the 幸福里 lift, 建设路 pavement, 桃源镇 bus fares) to catch over-grouping. The period's
other appeals are the 305 pre-segmented training rows of appeals_sample.csv.
"""

from __future__ import annotations

import csv
import itertools
from pathlib import Path

import pytest

from kuaiban.routing.hot import HotIssue, IssueTrend, compare_periods, group_hot_issues

FIXTURES = Path(__file__).parent / "fixtures"


def _labelled() -> list[tuple[int, str, str]]:
    with (FIXTURES / "hot_issues_labelled.csv").open(encoding="utf-8") as fh:
        return [(int(r["id"]), r["text"], r["group"]) for r in csv.DictReader(fh)]


def _background() -> list[tuple[str, str, None]]:
    with (FIXTURES / "appeals_sample.csv").open(encoding="utf-8") as fh:
        return [(f"bg{i}", r["text"], None) for i, r in enumerate(csv.DictReader(fh))]


def _pairs(groups: list[list[object]]) -> set[frozenset[object]]:
    return {frozenset(p) for g in groups for p in itertools.combinations(g, 2)}


@pytest.fixture(scope="module")
def issues() -> list[HotIssue]:
    items = [(key, text, None) for key, text, _ in _labelled()] + _background()
    return group_hot_issues(items)


def test_paraphrases_grouped_and_unrelated_kept_apart(issues: list[HotIssue]) -> None:
    gold = {key: group for key, _, group in _labelled()}
    gold_pairs = _pairs(
        [[k for k, g in gold.items() if g == group] for group in set(gold.values()) if group]
    )
    found_pairs = _pairs([[m for m in issue.member_ids if m in gold] for issue in issues])
    true_positives = len(gold_pairs & found_pairs)
    precision = true_positives / max(1, len(found_pairs))
    recall = true_positives / len(gold_pairs)
    assert precision >= 0.95, f"pairwise precision {precision:.3f}"
    assert recall >= 0.75, f"pairwise recall {recall:.3f}"
    # The unrelated appeals never join one another nor a labelled group.
    singles = {k for k, g in gold.items() if not g}
    for issue in issues:
        labelled = [m for m in issue.member_ids if m in gold]
        assert not (len(labelled) > 1 and singles & set(labelled)), issue


def test_each_problem_lands_mostly_in_one_issue(issues: list[HotIssue]) -> None:
    by_group: dict[str, list[int]] = {}
    for key, _, group in _labelled():
        if group:
            by_group.setdefault(group, []).append(key)
    together = 0
    for members in by_group.values():
        best = max(len(set(members) & set(issue.member_ids)) for issue in issues)
        together += best / len(members) >= 0.6
    assert together >= 9, f"only {together} of {len(by_group)} problems held together"


def test_labels_name_the_problem(issues: list[HotIssue]) -> None:
    def issue_of(key: int) -> HotIssue:
        return next(issue for issue in issues if key in issue.member_ids)

    assert "垃圾" in issue_of(1).label
    assert {"红绿灯", "信号灯"} & set(issue_of(5).terms)
    assert {"养猪场", "猪粪", "养殖场"} & set(issue_of(31).terms)
    for issue in issues:
        assert issue.size == len(issue.member_ids) >= 2
        assert issue.representative == issue.member_ids[0]
        assert 0 < issue.cohesion <= 1.0001
        assert 1 <= len(issue.terms) <= 4
        assert issue.label == " ".join(issue.terms)
    sizes = [issue.size for issue in issues]
    assert sizes == sorted(sizes, reverse=True)


def test_empty_and_unique_periods() -> None:
    assert group_hot_issues([]) == []
    unrelated = [(k, t, None) for k, t, g in _labelled() if not g]
    assert group_hot_issues(unrelated) == []


def test_growth_against_the_previous_period() -> None:
    rows = _labelled()
    background = _background()
    # Previous period: two reports of the garbage problem, three of the water problem.
    previous_keys = {1, 2, 11, 12, 13}
    previous = group_hot_issues(
        [(k, t, None) for k, t, _ in rows if k in previous_keys] + background[:150]
    )
    current = group_hot_issues([(k, t, None) for k, t, _ in rows] + background[150:])
    trends = {trend.issue.representative: trend for trend in compare_periods(current, previous)}
    assert len(trends) == len(current)

    def trend_of(key: int) -> IssueTrend:
        return next(t for t in trends.values() if key in t.issue.member_ids)

    for key, reports_before in ((1, {1, 2}), (11, {11, 12, 13})):
        trend = trend_of(key)
        assert trend.previous is not None
        assert set(trend.previous.member_ids) >= reports_before
        before, now = trend.previous.size, trend.issue.size
        assert trend.growth == pytest.approx((now - before) / before, abs=1e-4)
    pig_farm = trend_of(31)
    assert pig_farm.is_new and pig_farm.growth is None
    # Each previous issue is matched at most once.
    matched = [id(t.previous) for t in trends.values() if t.previous is not None]
    assert len(matched) == len(set(matched))
