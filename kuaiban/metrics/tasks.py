"""The ledger import and large ledger exports as background jobs (Django tasks run by
``kuaiban db_worker``).

The page checks the file at once (a dry run) and, on confirmation, queues :func:`import_ledger`
and shows its progress (``kuaiban.core.jobs``) until it ends; the batch row keeps the outcome,
so a reload — or another administrator — sees where it stands.

A ledger export of more than ``KUAIBAN_EXPORT_BACKGROUND_ROWS`` appeals is queued as
:func:`export_ledger`: it builds the same workbook as the synchronous export (the same filter,
the same selector as the requesting user, the same masking) into the ``exports`` storage; the
task's first argument is that user, and only they may follow it and download the file
(:func:`kuaiban.core.jobs.owned`).
"""

from __future__ import annotations

import logging
from typing import Any

from django.core.files.base import ContentFile
from django.core.files.storage import storages
from django.db import transaction
from django.http import QueryDict
from django.utils.translation import gettext as _
from django_tasks import TaskContext, TaskResult, task

from kuaiban.appeals import selectors
from kuaiban.core.errors import Conflict, DomainError
from kuaiban.core.jobs import Reporter
from kuaiban.metrics import excel, importer
from kuaiban.metrics.models import ImportBatch
from kuaiban.org.models import User

log = logging.getLogger(__name__)


def progress_key(batch: ImportBatch) -> str:
    return f"ledger-import:{batch.task_id}"


def import_queue(*, batch: ImportBatch, actor: User, skip_invalid: bool) -> ImportBatch:
    """Queue the import of a checked batch; refused (409) unless it is checked and not queued."""
    with transaction.atomic():
        locked = ImportBatch.objects.select_for_update().get(pk=batch.pk)
        if locked.state not in (ImportBatch.State.CHECKED, ImportBatch.State.FAILED):
            raise Conflict(_("This file is being imported already, or was imported."))
        locked.state, locked.error = ImportBatch.State.QUEUED, ""
        locked.save(update_fields=["state", "error"])
        result = import_ledger.enqueue(locked.pk, actor.pk, skip_invalid)
        ImportBatch.objects.filter(pk=locked.pk).update(task_id=str(result.id))
        locked.task_id = str(result.id)
    return locked


@task()
def import_ledger(batch_id: int, actor_id: int, skip_invalid: bool) -> dict[str, int]:
    batch = ImportBatch.objects.get(pk=batch_id)
    actor = User.objects.get(pk=actor_id)
    try:
        result = importer.import_batch(
            batch=batch,
            actor=actor,
            skip_invalid=skip_invalid,
            progress=Reporter(progress_key(batch)),
        )
    except DomainError as exc:  # a row the replay refused: nothing was written
        _failed(batch_id, str(exc.message))
        return {"imported": 0, "failed": 1}
    except Exception:  # a bug: the batch says so, the task's result keeps the traceback
        log.exception("ledger import %s failed", batch_id)
        _failed(batch_id, _("The import stopped on an unexpected error; nothing was written."))
        raise
    return {"imported": result.imported, "duplicates": result.duplicates, "invalid": result.invalid}


def _failed(batch_id: int, message: str) -> None:
    ImportBatch.objects.filter(pk=batch_id).update(state=ImportBatch.State.FAILED, error=message)


# ----- large ledger exports ----------------------------------------------------------------------


def export_progress_key(result_id: str) -> str:
    return f"ledger-export:{result_id}"


def export_file(result_id: str) -> str:
    """The name of a background export's workbook in the ``exports`` storage."""
    return f"ledger-{result_id}.xlsx"


def export_queue(*, actor: User, query: str, filename: str) -> TaskResult[dict[str, Any]]:
    """Queue the ledger export of ``query`` (the ledger page's filter) as ``actor`` sees it."""
    return export_ledger.enqueue(actor.pk, query, filename)


@task(takes_context=True)
def export_ledger(context: TaskContext, actor_id: int, query: str, filename: str) -> dict[str, Any]:
    actor = User.objects.get(pk=actor_id)
    flt = selectors.LedgerFilter.from_params(QueryDict(query))
    qs = selectors.ledger(user=actor, f=flt)
    report = Reporter(export_progress_key(context.task_result.id))
    data = excel.ledger_workbook(qs, actor, progress=report)
    name = export_file(context.task_result.id)
    storage = storages["exports"]
    storage.delete(name)
    storage.save(name, ContentFile(data))
    rows = min(qs.count(), excel.LEDGER_MAX_ROWS)
    report(rows + 1, rows + 1)
    return {"file": name, "filename": filename, "rows": rows}
