"""Files that come with a step: stored and linked inside the step's own transaction.

The transitions that take files (registration, reply, visit) call ``attach`` after recording
their event, in the same transaction: the rows roll back with the step, and the event's sealed
payload already lists each file's SHA-256 (``payload_of``), so the history proves which file
came with which step. The files themselves were checked and re-encoded before the transaction
opened (``kuaiban.core.uploads.prepare``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from kuaiban.appeals.models import Action, Appeal, AppealEvent, Attachment, AttachmentStage
from kuaiban.appeals.services.checks import REASON_MAX, _guard_person, _locked, _text
from kuaiban.appeals.services.events import record_event
from kuaiban.core import clock, uploads
from kuaiban.core.errors import Conflict, ValidationFailed
from kuaiban.core.uploads import Upload
from kuaiban.org.models import User


def payload_of(files: Sequence[Upload]) -> dict[str, Any]:
    """The event payload's entry for the files of a step (nothing when there are none)."""
    return {"attachments": [f.describe() for f in files]} if files else {}


def attach(
    appeal: Appeal,
    event: AppealEvent,
    files: Sequence[Upload],
    *,
    stage: str,
    actor: User | None,
) -> list[Attachment]:
    """Store ``files`` and link them to ``appeal`` and the ``event`` they came with.

    Photos sent with the reply are the unit's "after" photos: the submitter sees them on the
    public pages, unless the appeal is confidential. Nothing else is public.
    """
    if not files:
        return []
    now = clock.now()
    rows = [
        Attachment(
            appeal=appeal,
            event=event,
            stage=stage,
            public=stage == AttachmentStage.REPLY and f.is_image and not appeal.is_confidential,
            stored_as=uploads.store(f),
            name=f.name,
            content_type=f.content_type,
            size=f.size,
            width=f.width,
            height=f.height,
            sha256=f.sha256,
            uploaded_by=actor,
            uploaded_at=now,
        )
        for f in files
    ]
    return Attachment.objects.bulk_create(rows)


@transaction.atomic
def appeal_attach(
    *, actor: User, number: str, files: Sequence[Upload], note: str = ""
) -> list[Attachment]:
    """Add photos or documents to an open appeal after its registration (one ``attach`` event):
    the desk, or a handler of the lead unit. Never shown to the public."""
    appeal = _locked(number)
    _guard_person(appeal, actor, Action.ATTACH)
    if not appeal.is_open:
        raise Conflict(_("Files can only be added to an open appeal."), code="wrong_status")
    if not files:
        raise ValidationFailed.one("files", _("Choose at least one file."))
    note = _text(note, "note", required=False, limit=REASON_MAX)
    event = record_event(
        appeal, actor=actor, action=Action.ATTACH, note=note, payload=payload_of(files)
    )
    appeal.save(update_fields=["event_count", "last_event_hash"])
    return attach(appeal, event, files, stage=AttachmentStage.LATER, actor=actor)
