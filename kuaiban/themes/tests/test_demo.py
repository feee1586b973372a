"""The demo step: one theme from the ledger's heating complaints, with a progress report; loaded
once, and not at all without appeals."""

from __future__ import annotations

import pytest

from kuaiban.core import clock
from kuaiban.org.demo import Directory
from kuaiban.themes import demo
from kuaiban.themes.models import Theme
from kuaiban.themes.selectors import figures
from kuaiban.themes.tests.ledger import NOW, build_baseline

pytestmark = pytest.mark.django_db


def test_the_demo_theme(county: Directory) -> None:
    assert demo.load(county, seed=1, with_appeals=False) == ""
    assert not Theme.objects.exists()
    build_baseline(county)
    with clock.frozen(NOW):
        assert demo.load(county, seed=1, with_appeals=True) == (
            "Monthly theme: 小区暖气不热 (1 appeals linked)."
        )
        assert demo.load(county, seed=1, with_appeals=True) == ""
        theme = Theme.objects.get()
        fig = figures(theme)
    # Set in October 2026 (two months before NOW): the baseline is July–September, when the
    # ledger has one heating complaint (12 August).
    assert (f"{theme.start:%Y-%m}", theme.months, theme.lead_unit.code) == ("2026-10", 3, "zjj")
    assert [m.volume for m in fig.months] == [0, 1, 0, 0, 0, 0]
    assert (fig.baseline, fig.target, fig.result) == (0.3, 0.1, "pending")
    assert theme.reports.count() == 1
