"""The writes of 敲门行动: publishing a quarter's focus list, recording a visit at a door.

Each problem a household raises is registered as an appeal with channel ``visit`` through
``appeals.services.appeal_grid_report`` (the grid worker's own report: in the worker's grid, led
by the grid, a ``register`` and a ``dispatch`` event each), in the same transaction as the visit
it is linked to. Nothing here writes an appeal's row.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from kuaiban.appeals import services as appeals
from kuaiban.appeals.models import Channel, Kind
from kuaiban.core import clock
from kuaiban.core.errors import FieldError, NotFound, ValidationFailed
from kuaiban.core.text import fold
from kuaiban.core.validation import clean_phone, clean_text
from kuaiban.doors import rules
from kuaiban.doors.models import DoorVisit, FocusList
from kuaiban.org.models import Unit, User

QUARTER = re.compile(r"(\d{4})-Q([1-4])")
FIRST_YEAR, LAST_YEAR = 2000, 2100
TOPICS_MAX, TOPIC_LEN = 10, 200
PROBLEMS_MAX = 5
ANSWER_LEN = 500
RAISED_LEN = 2000
PROBLEM_KINDS = tuple(k for k in Kind.values if k != Kind.REPORT)


def quarter_of(at: dt.datetime) -> str:
    """``2026-Q4`` for a moment, in local (Asia/Shanghai) time."""
    local = timezone.localtime(at)
    return f"{local.year}-Q{(local.month - 1) // 3 + 1}"


def current_quarter() -> str:
    return quarter_of(clock.now())


def clean_quarter(value: str | None, field_name: str = "quarter") -> str:
    """A quarter written ``YYYY-Qn`` (years 2000–2100); empty means the current quarter."""
    text = (value or "").strip().upper()
    if not text:
        return current_quarter()
    match = QUARTER.fullmatch(text)
    if match is None or not FIRST_YEAR <= int(match.group(1)) <= LAST_YEAR:
        raise ValidationFailed.one(
            field_name, _("A quarter is written like 2026-Q4 (years 2000 to 2100).")
        )
    return text


def _line(value: str | None, field_name: str, *, limit: int, required: bool = False) -> str:
    text = clean_text((value or "").strip(), field_name)
    if required and not text:
        raise ValidationFailed.one(field_name, _("This field is required."))
    if len(text) > limit:
        raise ValidationFailed.one(
            field_name, _("At most %(limit)d characters.") % {"limit": limit}
        )
    return text


def _unit(code: str | None, field_name: str = "unit") -> Unit | None:
    if not code:
        return None
    unit = Unit.objects.select_related("region").filter(code=code, active=True).first()
    if unit is None:
        raise ValidationFailed.one(field_name, _("No such unit."))
    return unit


@transaction.atomic
def focus_list_publish(
    *, actor: User, quarter: str, topics: Sequence[str], unit: str | None = None
) -> FocusList:
    """Publish (or re-publish, replacing the topics) a unit's focus list for a quarter.

    The current or the next quarter only: a past quarter's list stays as it was asked."""
    target = rules.publisher_unit(actor, _unit(unit))
    if target.kind not in rules.PUBLISHING_KINDS:
        raise ValidationFailed.one("unit", _("Only a township or village publishes a list."))
    quarter = clean_quarter(quarter)
    now_q = current_quarter()
    if quarter < now_q or quarter > _next_quarter(now_q):
        raise ValidationFailed.one(
            "quarter", _("A focus list is for this quarter or the next one.")
        )
    clean = [_line(t, f"topics.{i}", limit=TOPIC_LEN) for i, t in enumerate(topics)]
    clean = [t for t in clean if t]
    if not clean or len(clean) > TOPICS_MAX:
        raise ValidationFailed.one(
            "topics", _("Between 1 and %(max)d topics.") % {"max": TOPICS_MAX}
        )
    if len(set(clean)) != len(clean):
        raise ValidationFailed.one("topics", _("A topic is listed twice."))
    focus, _created = FocusList.objects.update_or_create(
        unit=target,
        quarter=quarter,
        defaults={"topics": clean, "published_by": actor, "published_at": clock.now()},
    )
    return focus


def _next_quarter(quarter: str) -> str:
    year, q = int(quarter[:4]), int(quarter[-1])
    return f"{year + 1}-Q1" if q == 4 else f"{year}-Q{q + 1}"


@dataclass(frozen=True)
class Topic:
    """One question of a focus list that applies to a grid (its township's, then its village's)."""

    number: int  # 1-based, across the grid's lists
    unit: Unit
    text: str


def topics_for(grid: Unit, quarter: str) -> list[Topic]:
    """The focus topics a grid's workers ask about this quarter: its township's, then its
    village's, numbered from 1."""
    village = grid.region.parent if grid.region is not None else None
    regions = [r for r in (village, village.parent if village else None) if r is not None]
    lists = (
        FocusList.objects.filter(
            quarter=quarter, unit__region__in=regions, unit__kind__in=rules.PUBLISHING_KINDS
        )
        .select_related("unit")
        .order_by("unit__kind", "unit__code")  # "township" < "village"
    )
    out: list[Topic] = []
    for focus in lists:
        for text in focus.topics:
            out.append(Topic(len(out) + 1, focus.unit, text))
    return out


@dataclass(frozen=True)
class ProblemInput:
    """A problem a household raised: it becomes an appeal (channel ``visit``)."""

    content: str
    kind: str = Kind.HELP
    title: str | None = None


@dataclass(frozen=True)
class VisitInput:
    address: str
    nobody_home: bool = False
    met: str | None = None
    phone: str | None = None
    raised: str | None = None
    # topic number (Topic.number) → the household's answer
    answers: dict[int, str] = field(default_factory=dict)
    problems: Sequence[ProblemInput] = ()
    grid: str | None = None  # unit code; the worker's own grid when omitted


def _answers(grid: Unit, quarter: str, given: dict[int, str]) -> list[dict[str, str]]:
    topics = {t.number: t for t in topics_for(grid, quarter)}
    out: list[dict[str, str]] = []
    for number, text in sorted(given.items()):
        answer = _line(text, f"answers.{number}", limit=ANSWER_LEN)
        if not answer:
            continue
        topic = topics.get(number)
        if topic is None:
            raise ValidationFailed.one(
                f"answers.{number}", _("No such topic on this quarter's focus lists.")
            )
        out.append({"unit": topic.unit.code, "topic": topic.text, "answer": answer})
    return out


def _problems(problems: Sequence[ProblemInput]) -> list[ProblemInput]:
    if len(problems) > PROBLEMS_MAX:
        raise ValidationFailed.one(
            "problems", _("At most %(max)d problems a visit.") % {"max": PROBLEMS_MAX}
        )
    for i, p in enumerate(problems):
        if p.kind not in PROBLEM_KINDS:
            raise ValidationFailed.one(
                f"problems.{i}.kind",
                _(
                    "A complaint, request for help, consultation or suggestion (a report goes "
                    "to the desk)."
                ),
            )
        if not (p.content or "").strip():
            raise ValidationFailed.one(f"problems.{i}.content", _("This field is required."))
    return list(problems)


def _visit_fields(data: VisitInput) -> dict[str, str]:
    met = _line(data.met, "met", limit=100)
    phone = (data.phone or "").strip()
    raised = _line(data.raised, "raised", limit=RAISED_LEN)
    if data.nobody_home:
        if met or phone or raised or data.answers or data.problems:
            raise ValidationFailed.one(
                "nobody_home", _("Nobody was home: nobody was met and nothing was raised.")
            )
    elif not met:
        raise ValidationFailed.one("met", _("Say who was met, or mark nobody home."))
    return {"met": met, "phone": clean_phone(phone, "phone") if phone else "", "raised": raised}


@transaction.atomic
def door_visit_record(*, actor: User, data: VisitInput) -> DoorVisit:
    """A grid worker records one household visit in its own grid; each problem raised is
    registered as an appeal (channel ``visit``) linked to the visit, all in one transaction."""
    grid = rules.grid_of_worker(actor, _grid(data.grid))
    address = _line(data.address, "address", limit=200, required=True)
    fields = _visit_fields(data)
    now = clock.now()
    quarter = quarter_of(now)
    answers = _answers(grid, quarter, data.answers)
    problems = _problems(data.problems)
    visit = DoorVisit.objects.create(
        grid=grid,
        quarter=quarter,
        visited_at=now,
        visited_by=actor,
        address=address,
        household=household_key(address),
        nobody_home=data.nobody_home,
        answers=answers,
        **fields,
    )
    opened = []
    for i, problem in enumerate(problems):
        try:
            appeal = appeals.appeal_grid_report(
                actor=actor,
                channel=Channel.VISIT,
                data=appeals.AppealInput(
                    channel=Channel.VISIT,
                    kind=problem.kind,
                    title=problem.title,
                    content=problem.content,
                    address=address,
                    submitter_name=fields["met"] or None,
                    submitter_phone=fields["phone"] or None,
                ),
            )
        except ValidationFailed as exc:
            raise ValidationFailed(
                [FieldError(f"problems.{i}.{e.field}", e.message) for e in exc.errors]
            ) from None
        opened.append(appeal)
    visit.appeals.set(opened)
    return visit


def _grid(code: str | None) -> Unit | None:
    if not code:
        return None
    grid = Unit.objects.filter(code=code, kind=Unit.Kind.GRID).first()
    if grid is None:
        raise NotFound(_("No such grid."))
    return grid


def household_key(address: str) -> str:
    """The household's key: the address folded, without spaces or punctuation between."""
    return re.sub(r"[\s,，.。·\-_/]+", "", fold(address))[:200]
