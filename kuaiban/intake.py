"""Intake: an appeal arriving from a client, in one place.

Registration itself is ``appeals.services.appeal_register``; around it a client's request needs
an idempotency key (``integrations``) and the routing suggestions shown with the answer
(``routing``). Those two apps depend on ``appeals``, not the other way round, so the
orchestration lives here, above all three, and every entry point (the REST API today, the public
front door next) calls it instead of assembling the pieces itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from kuaiban.appeals import services
from kuaiban.appeals.models import Appeal
from kuaiban.integrations.services import fingerprint, idempotent_register
from kuaiban.org.models import User
from kuaiban.routing.api import appeal_suggestions


@dataclass(frozen=True)
class Intake:
    appeal: Appeal
    created: bool  # False: an Idempotency-Key replay answered with the first appeal


def intake_register(
    *,
    actor: User,
    data: services.AppealInput,
    idempotency_key: str | None = None,
    body: Any = None,
) -> Intake:
    """Register ``data`` for ``actor``; with ``idempotency_key``, once per key for this user.

    ``body`` is the request as the client sent it (JSON-able): the same key with another body
    is a Conflict (409), the same key with the same body answers with the first appeal.
    """
    if idempotency_key is None:
        return Intake(services.appeal_register(actor=actor, data=data), True)
    appeal, created = idempotent_register(
        scope=f"user:{actor.pk}",
        key=idempotency_key,
        fingerprint_=fingerprint(body),
        register=lambda drawn: services.appeal_register_within(
            actor=actor, data=data, appeal_id=drawn
        ),
    )
    return Intake(appeal, created)


def intake_suggestions(appeal: Appeal) -> dict[str, Any] | None:
    """The suggested categories and lead units for a registered appeal (None if routing has
    none to give; never an error: the appeal is registered either way)."""
    return appeal_suggestions(appeal.title, appeal.content)
