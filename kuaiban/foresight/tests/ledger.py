"""A hand-built ledger over two years for the forecast and the spike alerts, registered through
the appeals services with a frozen clock. Every figure the tests expect is worked out below."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from kuaiban.appeals import services
from kuaiban.appeals.models import Category
from kuaiban.conftest import user
from kuaiban.core import clock
from kuaiban.org.demo import Directory

TZ = ZoneInfo("Asia/Shanghai")
# The forecast is made on 20 October 2026, for November.
TODAY = dt.datetime(2026, 10, 20, 15, 0, tzinfo=TZ)

HEATING = "冬季采暖"
SANITATION = "环境卫生"
TEXTS = {
    HEATING: ("小区暖气不热", "阳光花园小区5号楼暖气一直不热，室温只有十四度，家里有老人。"),
    SANITATION: ("垃圾清运不及时", "幸福路菜市场门口的垃圾桶三天没人清运，天气一热就发臭。"),
}


def at(day: str, hm: str = "09:00") -> dt.datetime:
    return dt.datetime.fromisoformat(f"{day}T{hm}").replace(tzinfo=TZ)


def code(name: str) -> str:
    return Category.objects.get(name=name).code


def register(when: dt.datetime, category: str, region: str, **fields: Any) -> str:
    title, content = TEXTS[category]
    data: dict[str, Any] = {
        "channel": "hotline",
        "kind": "complaint",
        "title": title,
        "content": content,
        "submitter_name": "王建华",
        "submitter_phone": "13812345678",
        "region": region,
        "category": code(category),
    }
    data.update(fields)
    with clock.frozen(when):
        appeal = services.appeal_register(actor=user("operator"), data=services.AppealInput(**data))
    return appeal.number or ""


def seasonal(d: Directory) -> None:
    """城关镇 (南关社区) and 新华镇 (新华村); 东城街道 (滨河社区) only moves the heating trend.

    Heating, 城关镇: Nov 2025 4 (one a confidential report), Nov 2024 2; Oct 2025 1, Oct 2024 1.
    Heating, 新华镇: Nov 2025 2.  Sanitation, 城关镇: 3 in each of Nov/Oct 2025/2024.
    Heating trend: 3 in Sep 2026 (the 91 days before 20 Oct 2026) against 2 in Sep 2025 → 1.5.
    The ledger reaches back to Oct 2024, so both years count.

    Heating/城关镇: base (4 + 2) / 2 = 3 → expected 4.5; the month before (1 + 1) / 2 × 1.5 = 1.5;
      rising (4.5 ≥ 3 and ≥ 1.5 × 1.5).
    Heating/新华镇: (2 + 0) / 2 × 1.5 = 1.5, not rising (below 3).
    Sanitation/城关镇: 3 × 1.0 = 3.0, the month before 3.0, not rising.
    """
    nanguan, xinhua, binhe = d.villages[0].code, d.villages[8].code, d.villages[3].code
    for day in ("2025-11-03", "2025-11-12", "2025-11-20"):
        register(at(day), HEATING, nanguan)
    register(at("2025-11-25"), HEATING, nanguan, kind="report", title="供热公司收费不开票")
    for day in ("2024-11-08", "2024-11-18"):
        register(at(day), HEATING, nanguan)
    register(at("2025-10-25"), HEATING, nanguan)
    register(at("2024-10-28"), HEATING, nanguan)
    for day in ("2025-11-05", "2025-11-06"):
        register(at(day), HEATING, xinhua)
    for year in ("2024", "2025"):
        for month, days in (("10", ("22", "25", "28")), ("11", ("02", "12", "22"))):
            for dd in days:  # October's after the 20th: outside the trend's year-ago window
                register(at(f"{year}-{month}-{dd}"), SANITATION, nanguan)
    for day in ("2026-09-08", "2026-09-15", "2026-09-22"):
        register(at(day), HEATING, binhe)
    for day in ("2025-09-09", "2025-09-16"):
        register(at(day), HEATING, binhe)
