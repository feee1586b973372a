"""The top level (门类, sections A–T) of China's national industry classification GB/T 4754-2017
(国民经济行业分类). Written out here as data; a migration loads it into the Industry table."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from django.db.models import QuerySet

    from kuaiban.enterprise.models import Industry

# (section letter, 门类名称, English name)
SECTIONS: tuple[tuple[str, str, str], ...] = (
    ("A", "农、林、牧、渔业", "Agriculture, forestry, animal husbandry and fishery"),
    ("B", "采矿业", "Mining"),
    ("C", "制造业", "Manufacturing"),
    ("D", "电力、热力、燃气及水生产和供应业", "Electricity, heat, gas and water supply"),
    ("E", "建筑业", "Construction"),
    ("F", "批发和零售业", "Wholesale and retail trade"),
    ("G", "交通运输、仓储和邮政业", "Transport, storage and postal services"),
    ("H", "住宿和餐饮业", "Accommodation and catering"),
    ("I", "信息传输、软件和信息技术服务业", "Information transmission, software and IT services"),
    ("J", "金融业", "Finance"),
    ("K", "房地产业", "Real estate"),
    ("L", "租赁和商务服务业", "Leasing and business services"),
    ("M", "科学研究和技术服务业", "Scientific research and technical services"),
    ("N", "水利、环境和公共设施管理业", "Water conservancy, environment and public facilities"),
    ("O", "居民服务、修理和其他服务业", "Resident services, repair and other services"),
    ("P", "教育", "Education"),
    ("Q", "卫生和社会工作", "Health and social work"),
    ("R", "文化、体育和娱乐业", "Culture, sports and entertainment"),
    (
        "S",
        "公共管理、社会保障和社会组织",
        "Public administration, social security and organisations",
    ),
    ("T", "国际组织", "International organisations"),
)

CODES: frozenset[str] = frozenset(code for code, _zh, _en in SECTIONS)
BY_NAME: dict[str, str] = {zh: code for code, zh, _en in SECTIONS}


def resolve(value: str) -> str | None:
    """A section letter from a letter ("c"), a full name ("制造业") or both ("C 制造业")."""
    text = (value or "").strip()
    if not text:
        return None
    if text in BY_NAME:
        return BY_NAME[text]
    head, rest = text[0].upper(), text[1:].strip(" .、:：-")
    if head not in CODES:
        return None
    if not rest or BY_NAME.get(rest) == head:
        return head
    return None


def rows() -> QuerySet[Industry]:
    """The Industry table, restored first if rows are missing.

    Migration 0003 fills the table, but anything that empties it (a test database flush between
    transactional tests, a careless admin) must not break the registry: the sections are data in
    this module, so they are simply written back.
    """
    from kuaiban.enterprise.models import Industry

    if Industry.objects.count() != len(SECTIONS):
        Industry.objects.bulk_create(
            [Industry(code=code, name=zh, name_en=en) for code, zh, en in SECTIONS],
            ignore_conflicts=True,
        )
    return Industry.objects.order_by("code")


def row(value: str | None) -> Industry | None:
    """The Industry row for a letter or name, or None if it is not a section."""
    code = resolve(value or "")
    return rows().filter(code=code).first() if code else None
