"""Demo monthly theme: the heating complaints of the demo ledger, set two months ago with
住建局 leading, one progress report."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from kuaiban.core import clock
from kuaiban.org.demo import Directory
from kuaiban.org.models import User
from kuaiban.themes import services
from kuaiban.themes.models import Theme


def load(directory: Directory, *, seed: int, with_appeals: bool) -> str:
    if not with_appeals or Theme.objects.exists():
        return ""
    supervisor = User.objects.filter(username="supervisor").first()
    handler = User.objects.filter(username="handler-zjj").first()
    if supervisor is None or handler is None:
        return ""
    this_month = timezone.localdate(clock.now()).replace(day=1)
    start = services.add_months(this_month, -2)
    set_on = dt.datetime.combine(
        start + dt.timedelta(days=2), dt.time(10, 0), tzinfo=timezone.get_current_timezone()
    )
    with clock.frozen(set_on):
        theme = services.theme_create(
            actor=supervisor,
            data=services.ThemeInput(
                title="小区暖气不热",
                lead_unit="zjj",
                co_units=["cgj"],
                target_pct=50,
                months=3,
                query="暖气",
                start=f"{start:%Y-%m}",
            ),
        )
    with clock.frozen(set_on + dt.timedelta(days=20)):
        services.report_add(
            actor=handler,
            theme_id=theme.pk,
            text="已约谈供热公司，对老旧小区二次管网逐栋排查，完成阀门更换 120 处。",
        )
    return f"Monthly theme: {theme.title} ({theme.links.count()} appeals linked)."
