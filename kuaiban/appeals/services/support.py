"""A person joins an appeal about the problem they also have ("我也遇到了")."""

from __future__ import annotations

from django.db import transaction
from django.utils.translation import gettext as _

from kuaiban.appeals.models import Action, Appeal, Status, Supporter
from kuaiban.appeals.services.checks import _locked
from kuaiban.appeals.services.events import record_event
from kuaiban.core import clock
from kuaiban.core.errors import Conflict
from kuaiban.core.validation import clean_phone

# What may be joined: an open appeal that is still on its way to a result.
JOINABLE = frozenset({Status.RECEIVED, Status.DISPATCHED, Status.IN_PROGRESS, Status.REPLIED})


def check_joinable(appeal: Appeal, phone: str = "") -> None:
    """Refuse (409) an appeal nobody may join (closed, merged, invalid, or confidential), or
    one this ``phone`` submitted or has joined already."""
    if appeal.is_confidential or appeal.status not in JOINABLE:
        raise Conflict(_("This appeal can no longer be joined."), code="not_joinable")
    if phone and phone == appeal.submitter_phone:
        raise Conflict(_("You submitted this appeal yourself."), code="own_appeal")
    if phone and appeal.supporters.filter(phone=phone).exists():
        raise Conflict(_("You have already joined this appeal."), code="already_joined")


@transaction.atomic
def appeal_support(*, number: str, phone: str) -> Appeal:
    """Add ``phone`` (proven by the caller) as a supporter: one more in ``supporter_count``,
    one ``support`` event (the phone itself is not in it), told the following steps by SMS."""
    phone = clean_phone(phone, "phone")
    appeal = _locked(number)
    check_joinable(appeal, phone)
    now = clock.now()
    Supporter.objects.create(appeal=appeal, phone=phone, joined_at=now)
    appeal.supporter_count += 1
    record_event(
        appeal, actor=None, action=Action.SUPPORT, payload={"supporters": appeal.supporter_count}
    )
    appeal.save(update_fields=["supporter_count", "event_count", "last_event_hash"])
    return appeal
