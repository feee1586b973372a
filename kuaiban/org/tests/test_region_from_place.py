"""An appeal registered with no region takes it from its address or its map pin
(``org.selectors.region_from_place``, applied by the registration every channel goes through)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from kuaiban.appeals.models import Appeal
from kuaiban.org.demo import Directory, place_regions
from kuaiban.org.models import Region

pytestmark = pytest.mark.django_db

BODY = {
    "channel": "hotline",
    "kind": "complaint",
    "title": "路灯不亮",
    "content": "村口三盏路灯已经坏了一个多月，晚上出行很不方便，请尽快维修。",
    "submitter": {"name": "王建国", "phone": "13912345678", "type": "citizen"},
}


def region_of(api: Any, **changes: Any) -> dict[str, Any] | None:
    r = api("operator").post("/appeals", {**BODY, **changes})
    assert r.status == 201, r.body
    stored = Appeal.objects.select_related("region").get(number=r.body["number"])
    assert (stored.region.code if stored.region else None) == (
        r.body["region"]["code"] if r.body["region"] else None
    )
    return r.body["region"]


def test_the_village_named_in_the_address(api: Any) -> None:
    assert region_of(api, address="城关镇东门村3组12号")["name"] == "东门村"
    # Only the township named: the township.
    assert region_of(api, address="石桥乡政府对面")["name"] == "石桥乡"
    # The grid is deeper than its village.
    assert region_of(api, address="南关社区第1网格5号楼")["name"] == "南关社区第1网格"


def test_a_name_two_townships_share_needs_the_township(api: Any, county: Directory) -> None:
    other = Region.objects.create(
        code="330000009099",
        name="东门村",
        level=Region.Level.VILLAGE,
        parent=county.townships["shuanghe"],
    )
    assert region_of(api, address="东门村村委会旁") is None
    assert region_of(api, address="双河镇东门村村委会旁")["code"] == other.code
    assert region_of(api, address="城关镇东门村村委会旁")["code"] != other.code


def test_the_nearest_village_centre_to_the_pin(api: Any, county: Directory) -> None:
    place_regions(county)
    village = Region.objects.get(name="马坊村")
    # About 300 m north-east of its centre: 马坊村, not the other villages 2 km away.
    lat, lng = village.lat + Decimal("0.002"), village.lng + Decimal("0.002")
    assert region_of(api, lat=str(lat), lng=str(lng))["code"] == village.code
    # Far from every village (about 50 km away): no region, left to the operator.
    assert region_of(api, lat=str(lat + Decimal("0.5")), lng=str(lng)) is None


def test_the_address_before_the_pin_and_a_given_region_before_both(
    api: Any, county: Directory
) -> None:
    place_regions(county)
    pin = Region.objects.get(name="马坊村")
    assert (
        region_of(api, address="龙泉村5组", lat=str(pin.lat), lng=str(pin.lng))["name"] == "龙泉村"
    )
    given = Region.objects.get(name="柳河村")
    assert (
        region_of(api, region=given.code, address="龙泉村5组", lat=str(pin.lat), lng=str(pin.lng))[
            "code"
        ]
        == given.code
    )
    # An address that names nothing, and no pin: none.
    assert region_of(api, address="人民路128号") is None
