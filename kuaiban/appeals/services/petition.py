"""A petition's statutory steps (信访, 《信访工作条例》) beside the ordinary loop.

The handling clock (60 days, extension at most 30 with approval) is the reply clock of the
limits table's petition row. Three steps are the petition's own, each one transaction with one
event that leaves the appeal's status alone:

- ``appeal_petition_notice``: the written notice of acceptance (受理告知), due ``notice`` (15
  days as shipped) from receipt;
- ``appeal_review_request``: the petitioner, unhappy with the handling opinion, asks for a review
  (复查) within ``review`` days of the written reply; unhappy with the review's opinion, asks for a
  re-examination (复核) within ``recheck`` days of it. Each is a :class:`PetitionReview` due as
  many days after the request;
- ``appeal_review_decide``: the level above gives the opinion on the open request.
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils.translation import gettext as _

from kuaiban.appeals.models import (
    Action,
    Appeal,
    PetitionReview,
    ReviewLevel,
    ReviewOutcome,
)
from kuaiban.appeals.services.checks import REASON_MAX, TEXT_MAX, _choice, _guard, _locked, _text
from kuaiban.appeals.services.events import record_event
from kuaiban.core import clock
from kuaiban.core.errors import Conflict
from kuaiban.deadlines import services as deadlines
from kuaiban.org.models import User


def _clock(appeal: Appeal, name: str) -> deadlines.Limit:
    limit = deadlines.optional_limit(
        clock=name, channel=appeal.channel, kind=appeal.kind, urgency=appeal.urgency
    )
    if limit is None:
        raise Conflict(
            _("Only a petition (信访) has this step; this appeal came in by %(channel)s.")
            % {"channel": appeal.get_channel_display()},
            code="not_petition",
        )
    return limit


def _save(appeal: Appeal, *fields: str) -> None:
    appeal.save(update_fields=[*fields, "event_count", "last_event_hash", "updated_at"])


@transaction.atomic
def appeal_petition_notice(*, actor: User, number: str, text: str) -> Appeal:
    """The petition office gives the petitioner the written notice of acceptance (受理告知)."""
    appeal = _locked(number)
    _guard(appeal, actor, Action.PETITION_NOTICE)
    _clock(appeal, "notice")
    if appeal.noticed_at is not None:
        raise Conflict(_("The notice of acceptance was already given."), code="already_noticed")
    text = _text(text, "text", required=True, limit=TEXT_MAX)
    now = clock.now()
    appeal.noticed_at = now
    on_time = appeal.notice_due is None or now <= appeal.notice_due
    record_event(
        appeal,
        actor=actor,
        action=Action.PETITION_NOTICE,
        note=text,
        payload={"due": deadlines.iso(appeal.notice_due), "on_time": on_time},
        at=now,
    )
    _save(appeal, "noticed_at")
    return appeal


def _window_start(appeal: Appeal, level: str, earlier: PetitionReview | None) -> dt.datetime:
    """From when the petitioner's time to ask for ``level`` runs: the written reply for a
    review, the review's opinion for a re-examination."""
    if level == ReviewLevel.REVIEW:
        if earlier is not None:
            raise Conflict(_("A review was already requested."), code="review_exists")
        assert appeal.replied_at is not None  # replied, visited or closed
        return appeal.replied_at
    if earlier is None or earlier.decided_at is None:
        raise Conflict(
            _("A re-examination (复核) can only be asked for after the review's (复查) opinion."),
            code="review_pending",
        )
    return earlier.decided_at


@transaction.atomic
def appeal_review_request(*, actor: User, number: str, level: str, reason: str) -> PetitionReview:
    """Record a petitioner's request for a review (复查) or re-examination (复核)."""
    appeal = _locked(number)
    _guard(appeal, actor, Action.REVIEW_REQUEST)
    level = _choice(level, "level", ReviewLevel)
    limit = _clock(appeal, level)
    reason = _text(reason, "reason", required=True, limit=REASON_MAX)
    reviews = {r.level: r for r in appeal.reviews.all()}
    if level in reviews:
        raise Conflict(
            _("A %(level)s was already requested.") % {"level": ReviewLevel(level).label},
            code="review_exists",
        )
    earlier = reviews.get(ReviewLevel.REVIEW) if level == ReviewLevel.RECHECK else None
    start = _window_start(appeal, level, earlier)
    cal = deadlines.work_calendar()
    now = clock.now()
    closes = limit.apply(cal, start)
    if now > closes:
        raise Conflict(
            _("The time to ask for a %(level)s ran out on %(date)s.")
            % {"level": ReviewLevel(level).label, "date": f"{closes.astimezone(cal.tz):%Y-%m-%d}"},
            code="review_too_late",
        )
    review = PetitionReview.objects.create(
        appeal=appeal,
        level=level,
        requested_at=now,
        requested_by=actor,
        reason=reason,
        due=limit.apply(cal, now),
    )
    record_event(
        appeal,
        actor=actor,
        action=Action.REVIEW_REQUEST,
        note=reason,
        payload={"level": level, "due": deadlines.iso(review.due)},
        at=now,
    )
    _save(appeal)
    return review


@transaction.atomic
def appeal_review_decide(*, actor: User, number: str, outcome: str, opinion: str) -> PetitionReview:
    """The level above gives its opinion on the open review or re-examination."""
    appeal = _locked(number)
    _guard(appeal, actor, Action.REVIEW_DECIDE)
    review = appeal.reviews.filter(decided_at__isnull=True).select_for_update().first()
    if review is None:
        raise Conflict(
            _("No review or re-examination of this appeal is waiting for an opinion."),
            code="no_open_review",
        )
    outcome = _choice(outcome, "outcome", ReviewOutcome)
    opinion = _text(opinion, "opinion", required=True, limit=TEXT_MAX)
    now = clock.now()
    review.outcome, review.opinion = outcome, opinion
    review.decided_at, review.decided_by = now, actor
    review.save()
    record_event(
        appeal,
        actor=actor,
        action=Action.REVIEW_DECIDE,
        note=opinion,
        payload={"level": review.level, "outcome": outcome, "on_time": now <= review.due},
        at=now,
    )
    _save(appeal)
    return review
