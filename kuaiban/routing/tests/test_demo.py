"""The demo step: models trained on the demo ledger once it has enough closed appeals."""

from __future__ import annotations

from typing import Any

import pytest

from kuaiban.org.demo import Directory
from kuaiban.org.models import User
from kuaiban.routing import demo, services
from kuaiban.routing.models import ModelVersion
from kuaiban.routing.tests.conftest import sample_rows

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("routing_env")]


def test_demo_trains_once_and_is_deterministic(
    county: Directory, closed_ledger: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    closed_ledger(sample_rows(0, 150))
    assert demo.load(county, seed=7, with_appeals=True) == ""  # 150 closed: not enough yet
    monkeypatch.setattr(demo, "MIN_CLOSED", 100)
    summary = demo.load(county, seed=7, with_appeals=True)
    assert summary.startswith(
        "Routing models trained on the demo ledger (CV macro-F1): category 0."
    )
    # This ledger's unit is a function of its category, which the unit model reads: exact.
    assert summary.endswith(", unit 1.00.")
    active = {v.target: v for v in ModelVersion.objects.filter(active=True)}
    assert set(active) == {"category", "unit"} and active["category"].cv_folds == 3
    first = services.suggest("城关二小开学收资料费，不开收据")
    # Loading again trains nothing; a fresh training with the same seed predicts the same.
    assert demo.load(county, seed=7, with_appeals=True) == ""
    assert ModelVersion.objects.count() == 2
    ModelVersion.objects.update(active=False)
    services.reset_caches()
    demo.load(county, seed=7, with_appeals=True)
    assert services.suggest("城关二小开学收资料费，不开收据") == first


def test_demo_without_appeals_only_makes_the_system_user(county: Directory) -> None:
    User.objects.filter(username="system").delete()  # as after a flush
    assert demo.load(county, seed=7, with_appeals=False) == ""
    system = User.objects.get(username="system")
    assert system.role == "operator" and not system.has_usable_password()
    assert not ModelVersion.objects.exists()
