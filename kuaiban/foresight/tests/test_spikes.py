"""Spike alerts: found by the sweep, announced once per (category, township, day) to the lead unit
and the supervisors, with the appeals attached; the page lists only what the reader may open."""

from __future__ import annotations

import datetime as dt
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client
from django.utils import translation

from kuaiban.appeals import services
from kuaiban.appeals.models import Category
from kuaiban.conftest import user
from kuaiban.core import clock
from kuaiban.foresight.models import Spike
from kuaiban.foresight.tests.ledger import HEATING, SANITATION, TODAY, at, register
from kuaiban.org.demo import Directory
from kuaiban.org.models import Unit
from kuaiban.supervision.models import Notification
from kuaiban.supervision.services import notifications
from kuaiban.supervision.services.sweep import sweep

pytestmark = pytest.mark.django_db


def spread(days: int, n: int) -> list[dt.datetime]:
    """``n`` moments over the ``days`` days before TODAY (the oldest first)."""
    first = TODAY.date() - dt.timedelta(days=days)
    return [at((first + dt.timedelta(days=i * days // n)).isoformat(), "10:00") for i in range(n)]


@pytest.fixture
def today(county: Directory) -> dict[str, Any]:
    """Heating in 城关镇 (南关社区): 14 appeals in the 28 days before 20 October (mean 0.5, so
    the threshold is max(5, 1.5) = 5), one more on 21 September (outside the window), and 5
    today, one a confidential report, two dispatched to 住建局. Heating in 新华镇: 4 today (no
    spike). Sanitation in 城关镇: 48 in the 28 days (mean 48 / 28 = 1.71, threshold 5.14) and 5
    today: no spike by count alone."""
    nanguan, xinhua = county.villages[0].code, county.villages[8].code
    for when in spread(28, 14):
        register(when, HEATING, nanguan)
    register(at("2026-09-21"), HEATING, nanguan)
    numbers = [register(at("2026-10-20", f"{h:02d}:30"), HEATING, nanguan) for h in range(8, 12)]
    report = register(
        at("2026-10-20", "12:10"), HEATING, nanguan, kind="report", title="供热站站长收受好处费"
    )
    for number in numbers[:2]:
        with clock.frozen(at("2026-10-20", "13:00")):
            services.appeal_dispatch(actor=user("operator"), number=number, unit="zjj")
    for h in range(8, 12):
        register(at("2026-10-20", f"{h:02d}:45"), HEATING, xinhua)
    for when in spread(28, 48):
        register(when, SANITATION, nanguan)
    for h in range(8, 13):
        register(at("2026-10-20", f"{h:02d}:50"), SANITATION, nanguan)
    return {"numbers": numbers, "report": report, "nanguan": nanguan}


def spike_notices() -> list[tuple[str, str]]:
    return sorted(
        Notification.objects.filter(kind=Notification.Kind.SPIKE).values_list(
            "recipient__username", "key"
        )
    )


def test_spike_notifies_the_lead_unit_and_supervisors_once(today: dict[str, Any]) -> None:
    first = sweep(now=TODAY, mail=False)
    assert first.hooked == {"spike_sweep": 1}
    spike = Spike.objects.get()
    assert (spike.category.name, spike.township.name, spike.day) == (
        HEATING,
        "城关镇",
        dt.date(2026, 10, 20),
    )
    assert (spike.count, str(spike.baseline), str(spike.threshold)) == (5, "0.50", "5.00")
    assert spike.lead_unit is not None and spike.lead_unit.code == "zjj"
    assert spike.appeals.count() == 5
    key = f"spike:{spike.category_id}:{spike.township_id}:2026-10-20"
    assert spike_notices() == [("handler-zjj", key), ("supervisor", key)]
    # the second sweep (and the command) find nothing new
    assert sweep(now=TODAY + dt.timedelta(minutes=1), mail=False).hooked == {"spike_sweep": 0}
    out = StringIO()
    with clock.frozen(TODAY + dt.timedelta(minutes=2)):
        call_command("sweep", "--no-mail", stdout=out, stderr=StringIO())
    assert "0 spike_sweep" in out.getvalue()
    assert Spike.objects.count() == 1
    assert spike_notices() == [("handler-zjj", key), ("supervisor", key)]


def test_the_notice_reads_in_chinese_and_links_the_spike(today: dict[str, Any]) -> None:
    sweep(now=TODAY, mail=False)
    n = Notification.objects.get(kind=Notification.Kind.SPIKE, recipient__username="supervisor")
    with translation.override("zh-hans"):
        assert notifications.text(n) == (
            "诉求突增：2026-10-20 城关镇有5件冬季采暖诉求，前四周日均0.50件。"
        )
    assert n.url == f"/foresight/spikes/{Spike.objects.get().pk}/"


def test_three_times_the_baseline_is_needed_above_five(today: dict[str, Any]) -> None:
    """Sanitation: 5 today is under 3 × 1.71; a sixth crosses it. Nobody dispatched any, so the
    lead unit is the category's default unit in the dispatch catalogue (城管局)."""
    sanitation = Category.objects.get(name=SANITATION)
    sanitation.default_unit = Unit.objects.get(code="cgj")
    sanitation.save()
    sweep(now=TODAY, mail=False)
    assert not Spike.objects.filter(category=sanitation).exists()
    register(at("2026-10-20", "15:10"), SANITATION, today["nanguan"])
    later = TODAY + dt.timedelta(minutes=20)
    assert sweep(now=later, mail=False).hooked == {"spike_sweep": 1}
    spike = Spike.objects.get(category=sanitation)
    assert (spike.count, str(spike.baseline), str(spike.threshold)) == (6, "1.71", "5.14")
    assert spike.lead_unit is not None and spike.lead_unit.code == "cgj"
    users = {u for u, key in spike_notices() if key.startswith(f"spike:{sanitation.pk}:")}
    assert users == {"handler-cgj", "supervisor"}


def page(who: str | None, pk: int) -> Any:
    client = Client()
    if who:
        client.force_login(user(who))
    return client.get(f"/foresight/spikes/{pk}/", HTTP_ACCEPT_LANGUAGE="zh-hans")


def listed(response: Any) -> int:
    return response.content.decode().count('data-testid="spike-appeal"')


def test_the_spike_page_lists_only_what_the_reader_may_open(today: dict[str, Any]) -> None:
    sweep(now=TODAY, mail=False)
    pk = Spike.objects.get().pk
    sup = page("supervisor", pk)
    assert sup.status_code == 200
    assert listed(sup) == 5
    assert today["report"] in sup.content.decode()
    leader = page("leader", pk)  # sees the ledger but for confidential reports
    assert listed(leader) == 4
    assert today["report"] not in leader.content.decode()
    assert "另有1件诉求计入此处" in leader.content.decode()
    zjj = page("handler-zjj", pk)  # the lead unit: its own two appeals
    assert listed(zjj) == 2
    html = zjj.content.decode()
    assert all(n in html for n in today["numbers"][:2])
    assert today["report"] not in html and "另有3件诉求计入此处" in html


@pytest.mark.parametrize("who", ["handler-chengguan", "operator", "visitor"])
def test_the_spike_page_is_denied_to_others(today: dict[str, Any], who: str) -> None:
    sweep(now=TODAY, mail=False)
    assert page(who, Spike.objects.get().pk).status_code == 404


def test_the_spike_page_needs_a_login_and_a_real_spike(today: dict[str, Any]) -> None:
    sweep(now=TODAY, mail=False)
    pk = Spike.objects.get().pk
    assert page(None, pk).status_code == 302
    assert page("supervisor", pk + 1000).status_code == 404
    assert page("supervisor", 2**70).status_code == 404  # past any database integer
