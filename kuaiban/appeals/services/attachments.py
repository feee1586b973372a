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

from kuaiban.appeals.models import Appeal, AppealEvent, Attachment, AttachmentStage
from kuaiban.core import clock, uploads
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
