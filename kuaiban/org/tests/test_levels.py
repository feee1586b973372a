"""Three levels (区、乡、村): villages/communities and grids are handling units of the demo
county, each with its grid workers, and the rankings keep every tier to itself."""

from __future__ import annotations

from typing import Any

import pytest
from django.conf import settings
from django.db import IntegrityError, transaction

from kuaiban.org.demo import Directory, build_directory
from kuaiban.org.models import Role, Unit, User

pytestmark = pytest.mark.django_db


def test_every_demo_village_and_grid_is_a_unit_under_its_township(county: Directory) -> None:
    villages = Unit.objects.filter(kind=Unit.Kind.VILLAGE).select_related("region__parent")
    grids = Unit.objects.filter(kind=Unit.Kind.GRID).select_related("region__parent__parent")
    assert villages.count() == len(county.villages) == 23
    assert grids.count() == len(county.grids) == 46
    nanguan = county.units[f"v{county.villages[0].code}"]
    assert nanguan.name == "南关社区" and nanguan.is_local
    grid = county.units[f"g{county.grids[0].code}"]
    assert grid.name == "南关社区第1网格" and grid.kind == Unit.Kind.GRID
    assert grid.township_region == county.townships["chengguan"]
    assert nanguan.township_region == county.townships["chengguan"]
    assert county.units["chengguan"].township_region == county.townships["chengguan"]
    assert county.units["zjj"].township_region is None and not county.units["zjj"].is_local


def test_demo_directory_is_idempotent(county: Directory) -> None:
    again = build_directory()
    assert Unit.objects.count() == len(again.units) == 16 + 9 + 23 + 46
    assert again.users.keys() == county.users.keys()


def test_one_grid_worker_per_grid_with_the_demo_password(county: Directory) -> None:
    grid = county.grids[3]
    worker = User.objects.get(username=f"grid-{grid.code}")
    assert worker.role == Role.GRID_WORKER
    assert worker.unit is not None and worker.unit.region == grid
    assert worker.check_password(settings.KUAIBAN_DEMO_PASSWORD)
    assert User.objects.filter(role=Role.GRID_WORKER).count() == 46
    # A village's people are handlers, as a township's are; a grid has no handler of its own.
    village = county.villages[0]
    assert User.objects.get(username=f"handler-v{village.code}").role == Role.HANDLER
    assert not User.objects.filter(role=Role.HANDLER, unit__kind=Unit.Kind.GRID).exists()


def test_a_grid_worker_must_belong_to_a_unit(county: Directory) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        User.objects.create(username="grid-nobody", role=Role.GRID_WORKER)


def test_directory_api_lists_villages_and_grids_with_their_kind(api: Any) -> None:
    r = api("operator").get("/units")
    assert r.status == 200
    kinds = {u["code"]: u["kind"] for u in r.body}
    assert kinds["chengguan"] == "township"
    assert sum(1 for k in kinds.values() if k == "village") == 23
    assert sum(1 for k in kinds.values() if k == "grid") == 46
    assert api(None).get("/units").status == 401


def test_rankings_keep_villages_and_grids_in_tiers_of_their_own(api: Any) -> None:
    r = api("leader").get("/rankings", month="2026-06")
    assert r.status == 200, r.body
    tiers = {t["kind"]: t["units"] for t in r.body["tiers"]}
    assert list(tiers) == ["department", "township", "village", "grid"]
    kind_of = dict(Unit.objects.values_list("code", "kind"))
    for kind, rows in tiers.items():
        assert {kind_of[row["key"]] for row in rows} == {kind}
    assert len(tiers["township"]) == 9 and len(tiers["village"]) == 23
    worker = User.objects.filter(role=Role.GRID_WORKER).first()
    assert worker is not None
    denied = api(worker.username).get("/rankings", month="2026-06")
    assert denied.status == 403 and "网格员" in denied.body["detail"]
