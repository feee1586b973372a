"""Read the State Council's annual holiday notice (国务院办公厅关于YYYY年部分节假日安排的通知).

Pure text in, calendar days out, no database. Each holiday is one numbered item in the notice's
standard wording, e.g.::

    一、元旦：1月1日（周五）至3日（周日）放假调休，共3天。
    二、春节：2月15日（农历腊月二十八、周日）至23日（农历正月初七、周一）放假调休，共9天。
    2月14日（周六）、2月28日（周六）上班。

Every day of a ``放假`` range is a rest day; every date in a ``上班`` sentence is a make-up
working day. The weekday given in brackets and the day count (``共N天``) are checked, so a notice
pasted for the wrong year, or a typo, is refused with the sentence that could not be read.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from django.utils.translation import gettext as _

from kuaiban.core.errors import ValidationFailed
from kuaiban.core.validation import check_year

FIELD = "notice"
WEEKDAYS = {"一": 0, "二": 1, "三": 2, "四": 3, "五": 4, "六": 5, "日": 6, "天": 6}
_NUMERALS = "一二三四五六七八九十"
_TITLE = re.compile(r"关于\s*(\d{4})\s*年\s*部分节假日安排的通知")
_ITEM = re.compile(rf"^\s*[{_NUMERALS}]+\s*[、.．]\s*(?P<name>[^：:]+?)\s*[：:]\s*(?P<body>.+)$")
_DATE = re.compile(
    r"(?:(?P<year>\d{4})\s*年\s*)?(?:(?P<month>\d{1,2})\s*月\s*)?(?P<day>\d{1,2})\s*日"
    r"(?:\s*[（(](?P<note>[^）)]*)[）)])?"
)
_COUNT = re.compile(r"(?:共|放假)\s*(\d+)\s*天")


@dataclass(frozen=True)
class NoticeDay:
    date: dt.date
    is_workday: bool
    name: str  # the holiday, as the notice names it (元旦, 春节 …)


def _fail(message: str) -> ValidationFailed:
    return ValidationFailed.one(FIELD, message)


def _dates(sentence: str, year: int) -> list[tuple[dt.date, re.Match[str]]]:
    """Every date in ``sentence``; a date without a month takes the previous date's."""
    out: list[tuple[dt.date, re.Match[str]]] = []
    month: int | None = None
    current = year
    for match in _DATE.finditer(sentence):
        if match["year"]:
            current = int(match["year"])
        if match["month"]:
            month = int(match["month"])
        if month is None:
            raise _fail(_("No month in: %(text)s") % {"text": sentence})
        try:
            day = dt.date(current, month, int(match["day"]))
        except ValueError:
            raise _fail(_("Not a date: %(text)s") % {"text": match[0]}) from None
        weekday = re.search(r"(?:周|星期)([一二三四五六日天])", match["note"] or "")
        if weekday and WEEKDAYS[weekday[1]] != day.weekday():
            raise _fail(
                _("%(date)s is not a 周%(weekday)s in %(year)d: %(text)s")
                % {"date": day.isoformat(), "weekday": weekday[1], "year": year, "text": sentence}
            )
        out.append((day, match))
    return out


def parse_notice(text: str, *, year: int | None = None) -> list[NoticeDay]:
    """The rest days and make-up working days of the notice, in date order.

    ``year`` is the notice's year; if not given it is read from the title. Raises
    :class:`ValidationFailed` on field ``notice`` naming what it could not read.
    """
    text = (text or "").replace("\r", "")
    title = _TITLE.search(text)
    if title:
        titled = int(title[1])
        if year is not None and year != titled:
            raise ValidationFailed.one(
                "year",
                _("The notice is for %(titled)d, not %(year)d.") % {"titled": titled, "year": year},
            )
        year = titled
    if year is None:
        raise ValidationFailed.one("year", _("Give the year, or paste the notice with its title."))
    check_year(year, "year")
    days: dict[dt.date, NoticeDay] = {}
    items = 0
    # Items may come one per line (as published) or run together (as some pages copy them).
    lines = re.split(rf"\n|(?=[{_NUMERALS}]+、[^：:，。]{{1,12}}[：:])", text)
    for line in lines:
        item = _ITEM.match(line)
        if not item:
            continue
        items += 1
        name = item["name"].strip()
        for sentence in filter(None, (s.strip() for s in re.split(r"[。；;]", item["body"]))):
            found = _dates(sentence, year)
            if not found:
                continue  # 不调休, 与周末连休 …
            if "放假" in sentence:
                start = found[0][0]
                if "至" in sentence[found[0][1].end() :] and len(found) >= 2:
                    end = found[1][0]
                else:
                    end = start
                if end < start:
                    raise _fail(
                        _("The holiday ends before it starts: %(text)s") % {"text": sentence}
                    )
                length = (end - start).days + 1
                count = _COUNT.search(sentence)
                if count and int(count[1]) != length:
                    raise _fail(
                        _("%(n)s days announced, %(m)d days between the dates: %(text)s")
                        % {"n": count[1], "m": length, "text": sentence}
                    )
                for offset in range(length):
                    day = start + dt.timedelta(days=offset)
                    _add(days, NoticeDay(day, False, name), sentence)
            elif "上班" in sentence:
                for day, _match in found:
                    _add(days, NoticeDay(day, True, name), sentence)
            else:
                raise _fail(
                    _("Neither a holiday (放假) nor a working day (上班): %(text)s")
                    % {"text": sentence}
                )
    if not items:
        raise _fail(
            _(
                "No holiday found. Paste the notice's numbered items, e.g. "
                "一、元旦：1月1日（周五）至3日（周日）放假调休，共3天。"
            )
        )
    for entry in days.values():
        if entry.date.year not in (year, year - 1, year + 1):
            raise _fail(_("%(date)s is far from %(year)d.") % {"date": entry.date, "year": year})
    return sorted(days.values(), key=lambda d: d.date)


def _add(days: dict[dt.date, NoticeDay], day: NoticeDay, sentence: str) -> None:
    known = days.get(day.date)
    if known is not None and known.is_workday != day.is_workday:
        raise _fail(
            _("%(date)s is both a holiday and a working day: %(text)s")
            % {"date": day.date.isoformat(), "text": sentence}
        )
    days.setdefault(day.date, day)
