"""A hand-built ledger for one monthly theme: garbage collection at 幸福里 in 城关镇, written
through the real services with a frozen clock. Expected figures are worked out in ``EXPECTED``.

Theme: search "垃圾 清运" in 城关镇, set on 2026-09-01 (first month 2026-09), 3 months, volume
down 50 %. Baseline window 2026-06 .. 2026-08.

    month    linked  what else happened (never counted)
    2026-06    4     a 举报 about the same garbage (confidential), one in 新华镇 (other township)
    2026-07    3     a fourth one invalidated as a test call
    2026-08    2     an unrelated heating complaint
    2026-09    2     (matched on arrival, after commit)
    2026-10    3     one by text similarity only (清理, not 清运); one later rejected on review;
                     a 举报 and one in 新华镇 again not linked
    2026-11    1

Baseline (4 + 3 + 2) / 3 = 3.0; target 3.0 × 50 % = 1.5; November's 1 ≤ 1.5: met once
November is over. After the review rejects one October link: October 2, 14 linked appeals.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from kuaiban.appeals import services
from kuaiban.appeals.models import Category
from kuaiban.conftest import user
from kuaiban.core import clock
from kuaiban.org.demo import Directory

TZ = ZoneInfo("Asia/Shanghai")
SET_ON = dt.datetime(2026, 9, 1, 9, 0, tzinfo=TZ)
NOW = dt.datetime(2026, 12, 5, 10, 0, tzinfo=TZ)

GARBAGE = [
    (
        "幸福里小区垃圾清运不及时",
        "幸福里小区3号楼旁的垃圾站已经三天没有清运，垃圾堆到路上，气味很大。",
    ),
    (
        "垃圾清运太慢",
        "城关镇幸福里小区垃圾清运太慢，垃圾桶满了也没人清运，夏天苍蝇很多，请城管局督促。",
    ),
    ("幸福里垃圾没人管", "幸福里小区门口垃圾清运车一周才来一次，居民意见很大。"),
    ("小区垃圾堆积", "幸福里小区北门垃圾清运不及时，污水流到人行道上。"),
]
SIMILAR_ONLY = (
    "幸福里小区垃圾桶满了没人清理",
    "城关镇幸福里小区垃圾桶满了也没人清理，夏天苍蝇很多，请城管局督促。",
)
HEATING = ("暖气不热", "阳光花园小区5号楼暖气一直不热，室温只有十四度，家里有老人。")

EXPECTED: dict[str, Any] = {
    "baseline": 3.0,
    "target": 1.5,
    "monthly": [
        ("2026-06", 4, "baseline"),
        ("2026-07", 3, "baseline"),
        ("2026-08", 2, "baseline"),
        ("2026-09", 2, "theme"),
        ("2026-10", 3, "theme"),
        ("2026-11", 1, "theme"),
    ],
    "linked": 15,
}


def at(day: str, hm: str = "09:00") -> dt.datetime:
    return dt.datetime.fromisoformat(f"{day}T{hm}").replace(tzinfo=TZ)


@dataclass
class Book:
    d: Directory
    category: str
    numbers: dict[str, str] = field(default_factory=dict)


def register(book: Book, name: str, when: dt.datetime, text: tuple[str, str], **fields: Any) -> str:
    data: dict[str, Any] = {
        "channel": "hotline",
        "kind": "complaint",
        "title": text[0],
        "content": text[1],
        "submitter_name": "李秀兰",
        "submitter_phone": "13912345678",
        "region": book.d.villages[0].code,  # 城关镇 南关社区
        "category": book.category,
    }
    data.update(fields)
    with clock.frozen(when):
        appeal = services.appeal_register(actor=user("operator"), data=services.AppealInput(**data))
    book.numbers[name] = appeal.number or ""
    return book.numbers[name]


def other_township(d: Directory) -> str:
    return next(v.code for v in d.villages if v.parent_id == d.townships["xinhua"].pk)


def build_baseline(d: Directory, texts: list[tuple[str, str]] = GARBAGE) -> Book:
    """The months before the theme (June to August 2026); the garbage appeals in ``texts``'
    wordings, in turn."""
    book = Book(d, Category.objects.get(level=1, name="城乡建设").code)
    for i in range(4):
        register(book, f"jun{i}", at(f"2026-06-{3 + 5 * i:02d}"), texts[i])
    register(book, "jun-report", at("2026-06-20"), GARBAGE[0], kind="report")
    register(book, "jun-xinhua", at("2026-06-21"), GARBAGE[1], region=other_township(d))
    for i in range(3):
        register(book, f"jul{i}", at(f"2026-07-{5 + 7 * i:02d}"), texts[i + 1])
    register(book, "jul-test", at("2026-07-30"), GARBAGE[0])
    with clock.frozen(at("2026-07-30", "10:00")):
        services.appeal_invalidate(
            actor=user("operator"), number=book.numbers["jul-test"], reason="测试来电"
        )
    register(book, "aug0", at("2026-08-06"), texts[2])
    register(book, "aug1", at("2026-08-31", "23:30"), texts[3])  # still August in Shanghai
    register(book, "aug-heating", at("2026-08-12"), HEATING)
    return book


def build_theme_months(book: Book) -> None:
    """September to November, after the theme is set (matched on arrival)."""
    register(book, "sep0", at("2026-09-08"), GARBAGE[0])
    register(book, "sep1", at("2026-09-22"), GARBAGE[1])
    register(book, "oct0", at("2026-10-09"), GARBAGE[2])
    register(book, "oct-similar", at("2026-10-15"), SIMILAR_ONLY)
    register(book, "oct-wrong", at("2026-10-20"), GARBAGE[3])
    register(book, "oct-report", at("2026-10-21"), GARBAGE[0], kind="report")
    register(book, "oct-xinhua", at("2026-10-22"), GARBAGE[1], region=other_township(book.d))
    register(book, "oct-heating", at("2026-10-23"), HEATING)
    register(book, "nov0", at("2026-11-12"), GARBAGE[0])
