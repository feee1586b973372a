"""The return-visit desk: the queue, recording a call, and the submitter's self-rating link.

Every visit is recorded by :func:`kuaiban.appeals.services.appeal_visit` (one door per state
change); this module only decides who may do it and keeps the one-time links.
"""

from __future__ import annotations

import datetime as dt
import secrets

from django.contrib.auth.hashers import make_password
from django.core import signing
from django.db import transaction
from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet
from django.db.models.functions import TruncDate
from django.urls import reverse
from django.utils.translation import gettext as _

from kuaiban.appeals import policy
from kuaiban.appeals import services as appeals
from kuaiban.appeals.models import Action, Appeal, Status
from kuaiban.appeals.selectors import appeal_get, visible_appeals
from kuaiban.core import clock
from kuaiban.core.errors import Conflict, NotFound, PermissionDenied
from kuaiban.org.models import Role, User
from kuaiban.visits.models import DeskSettings, SelfRatingLink

DESK_ROLES = frozenset({Role.VISITOR, Role.SUPERVISOR})
SALT = "kuaiban.visits.self-rating"
LINK_VALID = dt.timedelta(days=7)
SELF_RATING_USERNAME = "self-rating"


def ensure_desk(user: User) -> None:
    if not (user.is_authenticated and user.is_active and user.role in DESK_ROLES):
        raise PermissionDenied(_("Only return visitors and supervisors work at the visit desk."))


def _awaiting_self_rating() -> Exists:
    """An unused rating link sent within the administrator's wait (DeskSettings): the submitter
    may still rate, so nobody calls yet."""
    wait = dt.timedelta(hours=DeskSettings.current().self_rating_wait_hours)
    now = clock.now()
    return Exists(
        SelfRatingLink.objects.filter(
            appeal_id=OuterRef("pk"),
            used_at__isnull=True,
            created_at__gt=now - wait,
            expires_at__gt=now,
        )
    )


def desk_waiting(*, user: User) -> QuerySet[Appeal]:
    """Replied appeals whose submitter was sent a rating link and may still use it."""
    ensure_desk(user)
    return visible_appeals(user).filter(_awaiting_self_rating(), status=Status.REPLIED)


def desk_queue(*, user: User) -> QuerySet[Appeal]:
    """Replied appeals waiting for their return visit, the most urgent visit deadline first;
    those still waiting for the submitter's own rating (desk_waiting) are not called yet."""
    ensure_desk(user)
    return (
        visible_appeals(user)
        .filter(status=Status.REPLIED)
        .exclude(_awaiting_self_rating())
        .select_related("lead_unit", "category")
        # Days with an unreached call in this round (since the latest reply: a rework starts a
        # new round), as the rule counts them: three different days end the visit unrated.
        .annotate(
            attempts=Count(
                TruncDate("visits__at"),
                filter=Q(visits__reached=False, visits__at__gte=F("replied_at")),
                distinct=True,
            )
        )
        .order_by(F("visit_due").asc(nulls_last=True), "id")
    )


def desk_appeal(*, user: User, number: str) -> Appeal:
    ensure_desk(user)
    return appeal_get(user=user, number=number)


def visit_record(*, actor: User, number: str, data: appeals.VisitInput) -> Appeal:
    ensure_desk(actor)
    return appeals.appeal_visit(actor=actor, number=number, data=data)


# ----- the self-rating link ----------------------------------------------------------------------


def self_rating_actor() -> User:
    """The system account that records self-ratings (it cannot log in: no usable password)."""
    user, _created = User.objects.get_or_create(
        username=SELF_RATING_USERNAME,
        defaults={
            "display_name": str(_("Submitter (self-rating link)")),
            "role": Role.VISITOR,
            "password": make_password(None),
        },
    )
    return user


def token_for(link: SelfRatingLink) -> str:
    return signing.dumps({"l": link.pk, "n": link.nonce}, salt=SALT)


@transaction.atomic
def self_rating_link_create(*, actor: User, number: str) -> tuple[SelfRatingLink, str]:
    """A one-time link for the submitter, valid for seven days while the appeal awaits its visit."""
    appeal = desk_appeal(user=actor, number=number)
    if not policy.may(actor, Action.VISIT, appeal):
        raise PermissionDenied(_("Your role may not visit this appeal."))
    return self_rating_link_issue(appeal=appeal, actor=actor)


def self_rating_link_issue(*, appeal: Appeal, actor: User) -> tuple[SelfRatingLink, str]:
    """A new link for ``appeal`` (replied, not confidential, with a phone), without the desk's
    role check: for the desk above and for the automatic message after a reply."""
    if appeal.is_confidential:
        raise Conflict(_("Confidential reports are visited by phone only."), code="confidential")
    if appeal.status != Status.REPLIED:
        raise Conflict(_("Only a replied appeal awaits its rating."), code="wrong_status")
    if not appeal.submitter_phone:
        raise Conflict(_("The submitter left no phone to send the link to."), code="no_phone")
    now = clock.now()
    link = SelfRatingLink.objects.create(
        appeal=appeal,
        nonce=secrets.token_urlsafe(16),
        created_by=actor,
        created_at=now,
        expires_at=now + LINK_VALID,
    )
    return link, token_for(link)


def rating_path(token: str) -> str:
    """The site-relative URL of the self-rating page for ``token``."""
    return reverse("visits:rate", args=[token])


@transaction.atomic
def self_rating_link_send(*, number: str) -> tuple[SelfRatingLink, str] | None:
    """A one-time link made by the system, not a desk: what is sent by SMS to the submitter
    once the unit has replied. None when the appeal takes no link (not replied, a
    confidential kind, visited by phone only, or no phone to send it to)."""
    appeal = Appeal.objects.select_for_update().filter(number=number).first()
    if appeal is None:
        return None
    try:
        return self_rating_link_issue(appeal=appeal, actor=self_rating_actor())
    except Conflict:
        return None


def _link(token: str, *, lock: bool = False) -> SelfRatingLink:
    try:
        data = signing.loads(token, salt=SALT)
        pk, nonce = int(data["l"]), str(data["n"])
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        raise NotFound(_("This rating link is not valid.")) from None
    qs = SelfRatingLink.objects.select_related("appeal", "appeal__lead_unit")
    if lock:
        qs = qs.select_for_update(of=("self",))
    link = qs.filter(pk=pk, nonce=nonce).first()
    if link is None:
        raise NotFound(_("This rating link is not valid."))
    return link


def self_rating_open(token: str) -> SelfRatingLink:
    """The link behind a token, refused if used, expired or no longer needed."""
    link = _link(token)
    _check_usable(link)
    return link


def _check_usable(link: SelfRatingLink) -> None:
    if link.used_at is not None:
        raise Conflict(_("Thank you: this rating was already given."), code="used")
    if clock.now() > link.expires_at:
        raise Conflict(_("This rating link has expired."), code="expired")
    if link.appeal.status != Status.REPLIED:
        raise Conflict(_("This appeal no longer awaits a rating."), code="wrong_status")


@transaction.atomic
def self_rating_submit(
    *,
    token: str,
    resolved: bool | None,
    satisfaction: str | None,
    contacted: bool | None,
    note: str = "",
) -> Appeal:
    """Record the submitter's own rating as a reached visit, and spend the link, together."""
    link = _link(token, lock=True)
    _check_usable(link)
    appeal = appeals.appeal_visit(
        actor=self_rating_actor(),
        number=link.appeal.number or "",
        data=appeals.VisitInput(
            reached=True,
            resolved=resolved,
            satisfaction=satisfaction,
            authentic=contacted,
            note=(note or str(_("Rated by the submitter through the link."))),
        ),
    )
    link.used_at = clock.now()
    link.save(update_fields=["used_at"])
    return appeal
