"""System check: warn when chinese-calendar does not know a year deadlines may reach."""

from __future__ import annotations

from typing import Any

from django.core.checks import CheckMessage, Warning, register
from django.db import DatabaseError
from django.utils import timezone

from kuaiban.core import clock
from kuaiban.deadlines import services


@register()
def calendar_years_known(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    out: list[CheckMessage] = []
    for year in services.calendar_warnings(timezone.localdate(clock.now())):
        try:
            entered = services.overrides_in(year)
        except DatabaseError:  # before the first migrate
            entered = 0
        out.append(
            Warning(
                f"chinese-calendar does not know {year}: working days fall back to weekends "
                f"only ({entered} calendar days entered for {year}).",
                hint="Upgrade chinese-calendar, or enter the State Council's holiday notice "
                "under Administration → Calendar days.",
                id="deadlines.W001",
            )
        )
    return out
