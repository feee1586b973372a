"""The enterprise import as a background job (a Django task run by ``kuaiban db_worker``).

The import page checks the workbook at once (a dry run, synchronous, as the ledger import does)
and, on confirmation, queues :func:`import_enterprises`; the page then shows its progress
(``kuaiban.core.jobs``) and, once it has ended, the task's result (the import report's counts
and invalid rows). The task result is the job's record: its id is in the page's address, so a
reload finds it, and only the user who queued it may read it (:func:`kuaiban.core.jobs.owned`).
"""

from __future__ import annotations

import logging
from typing import Any

from django_tasks import TaskContext, TaskResult, task

from kuaiban.core.errors import DomainError
from kuaiban.core.jobs import Reporter
from kuaiban.enterprise.services.imports import enterprise_import
from kuaiban.org.models import User

log = logging.getLogger(__name__)


def progress_key(result_id: str) -> str:
    return f"enterprise-import:{result_id}"


def import_queue(
    *, actor: User, rows: list[tuple[int, dict[str, str]]], skip_invalid: bool
) -> TaskResult[dict[str, Any]]:
    """Queue the import of checked ``rows`` (the dry run's) for ``actor``."""
    return import_enterprises.enqueue(actor.pk, [[n, v] for n, v in rows], skip_invalid)


@task(takes_context=True)
def import_enterprises(
    context: TaskContext, actor_id: int, rows: list[list[Any]], skip_invalid: bool
) -> dict[str, Any]:
    actor = User.objects.get(pk=actor_id)
    try:
        report = enterprise_import(
            actor=actor,
            rows=[(int(n), dict(v)) for n, v in rows],
            dry_run=False,
            skip_invalid=skip_invalid,
            progress=Reporter(progress_key(context.task_result.id)),
        )
    except DomainError as exc:  # refused as a whole (a race with another import): nothing written
        return {"error": str(exc.message)}
    except Exception:  # a bug: the task fails, its result keeps the traceback
        log.exception("enterprise import for user %s failed", actor_id)
        raise
    return report.as_dict()
