"""The demo's integrating systems: deterministic keys, then a few Open311 requests, idempotent."""

from __future__ import annotations

from typing import Any

import pytest

from kuaiban.integrations import demo, services
from kuaiban.integrations.models import ApiKey
from kuaiban.open311 import demo as open311_demo
from kuaiban.open311.models import Open311Request

pytestmark = pytest.mark.django_db


def test_demo_keys_and_requests(county: Any) -> None:
    summary = demo.load(county, seed=7, with_appeals=True)
    key = demo.demo_key(7, "mobile-app")
    assert f"mobile-app={key}" in summary
    assert set(ApiKey.objects.values_list("name", "channel")) == {
        ("hotline-vendor", "hotline"),
        ("wechat-bot", "wechat"),
        ("mobile-app", "app"),
        ("grid-handsets", "grid"),
    }
    assert services.apikey_authenticate(key).name == "mobile-app"
    assert open311_demo.load(county, seed=7, with_appeals=True) == "Open311: 12 requests"
    requests = Open311Request.objects.select_related("appeal")
    assert requests.count() == 12
    assert {r.appeal.channel for r in requests} == {"app"}
    assert requests.filter(appeal__status="dispatched").count() == 8
    # Loading again adds nothing and prints no keys.
    assert demo.load(county, seed=7, with_appeals=True) == ""
    assert open311_demo.load(county, seed=7, with_appeals=True) == ""
    assert Open311Request.objects.count() == 12


def test_demo_without_appeals_makes_only_keys(county: Any) -> None:
    assert "mobile-app=" in demo.load(county, seed=7, with_appeals=False)
    assert open311_demo.load(county, seed=7, with_appeals=False) == ""
    assert ApiKey.objects.count() == 4 and not Open311Request.objects.exists()
    assert demo.demo_key(7, "mobile-app") != demo.demo_key(8, "mobile-app")
