"""The system as actor (a history replayed by the ledger importer) and the hooks switch:
``actor=None`` skips the role checks of a person but never the state checks, and
``hooks_paused()`` records events without queueing any after-commit hook."""

from __future__ import annotations

from typing import Any

import pytest

from kuaiban.appeals import services
from kuaiban.appeals.models import AppealEvent, Status
from kuaiban.core.errors import Conflict

pytestmark = pytest.mark.django_db


def test_the_system_still_obeys_the_transitions(make_appeal: Any) -> None:
    appeal = make_appeal()
    number = appeal.number or ""
    with pytest.raises(Conflict):
        services.appeal_claim(actor=None, number=number)  # not dispatched yet
    with pytest.raises(Conflict):
        services.appeal_close(actor=None, number=number)
    dispatched = services.appeal_dispatch(actor=None, number=number, unit="zjj")
    assert dispatched.status == Status.DISPATCHED
    claimed = services.appeal_claim(actor=None, number=number)
    assert claimed.status == Status.IN_PROGRESS and claimed.handler is None
    labels = AppealEvent.objects.filter(appeal=appeal).values_list("actor_id", flat=True)
    assert list(labels)[1:] == [None, None]  # the events name no person


def test_paused_hooks_queue_nothing(
    make_appeal: Any, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks() as quiet, services.hooks_paused():
        appeal = make_appeal()
        services.appeal_dispatch(actor=None, number=appeal.number or "", unit="zjj")
    assert quiet == []
    with django_capture_on_commit_callbacks() as loud:
        make_appeal()
    assert len(loud) == 1  # the hooks (webhooks, routing, enterprise) run after commit
