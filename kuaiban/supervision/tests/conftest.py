"""Fixtures for supervision tests: appeals walked to a status at a known time, extra people."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest

from kuaiban.appeals import services
from kuaiban.appeals.models import Appeal, AppealEvent
from kuaiban.conftest import user
from kuaiban.core import clock
from kuaiban.deadlines.calendar import SHANGHAI
from kuaiban.deadlines.services import ensure_defaults
from kuaiban.org.demo import Directory
from kuaiban.org.models import Role, User

# Monday 23 November 2026, the start of a working day.
MONDAY = dt.datetime(2026, 11, 23, 8, 30, tzinfo=SHANGHAI)


def at(m: int, d: int, hh: int, mm: int = 0) -> dt.datetime:
    return dt.datetime(2026, m, d, hh, mm, tzinfo=SHANGHAI)


def actions(appeal: Appeal) -> list[str]:
    return list(
        AppealEvent.objects.filter(appeal=appeal).order_by("seq").values_list("action", flat=True)
    )


@pytest.fixture
def county(county: Directory) -> Directory:
    """The shipped limits table too: another app's transactional test may have flushed it."""
    ensure_defaults()
    return county


@pytest.fixture
def people(county: Directory) -> dict[str, User]:
    """A second handler at 住建局 (not its head), and e-mail addresses for everyone mailed."""
    unit = county.units["zjj"]
    clerk = User.objects.create(
        username="zjj-clerk", display_name="住建局 孙丽", role=Role.HANDLER, unit=unit
    )
    for username, email in [
        ("handler-zjj", "zhang.wei@zjj.example.cn"),
        ("supervisor", "chen.jianguo@dc.example.cn"),
        ("zjj-clerk", "sun.li@zjj.example.cn"),
        ("admin", "admin@kuaiban.example.cn"),
    ]:
        User.objects.filter(username=username).update(email=email)
    return {"clerk": clerk, "head": user("handler-zjj"), "supervisor": user("supervisor")}


Walk = Callable[..., Appeal]


@pytest.fixture
def walk(make_appeal: Any) -> Walk:
    """Register at ``when`` and walk to ``status`` (dispatched, in_progress or replied)."""

    def go(
        status: str = "dispatched",
        *,
        when: dt.datetime = MONDAY,
        unit: str = "zjj",
        claimer: str | None = None,
        **fields: Any,
    ) -> Appeal:
        with clock.frozen(when):
            appeal = make_appeal(**fields)
            n = appeal.number
            if status in ("dispatched", "in_progress", "replied"):
                services.appeal_dispatch(actor=user("operator"), number=n, unit=unit)
            handler = user(claimer or f"handler-{unit}")
            if status in ("in_progress", "replied"):
                services.appeal_claim(actor=handler, number=n)
            if status == "replied":
                services.appeal_reply(
                    actor=handler, number=n, result="resolved", text="已派人维修，暖气恢复正常。"
                )
        return Appeal.objects.get(number=n)

    return go
