"""A background job's progress, readable by the page that started it while the job runs.

Jobs themselves are Django tasks (``django_tasks``; queued in the database by
``django_tasks_db`` and run by ``kuaiban db_worker``). A job that runs in one long transaction
(the ledger import replays every row in one) cannot report through the database: nothing it
writes is visible before it commits. So it reports through the ``progress`` cache instead —
files in the data directory by default, Redis where ``CACHE_URL`` names it.

A job with no row of its own (the enterprise import) is known by its task result's id: the
task's first argument is the user who queued it, and :func:`owned` finds the result for that
user only, so another user's id reads as unknown (404).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from django.core.cache import caches
from django.http import HttpResponse
from django_tasks import TaskResult, TaskResultStatus
from django_tasks.base import Task
from django_tasks.exceptions import TaskException

# A job's progress is kept this long after its last report (a page left open overnight).
KEEP_SECONDS = 24 * 3600
# Reports closer together than this are dropped (the last one always goes through).
EVERY_SECONDS = 0.5


@dataclass(frozen=True)
class Progress:
    done: int
    total: int

    @property
    def percent(self) -> int:
        return min(100, 100 * self.done // self.total) if self.total else 0


def _key(job: str) -> str:
    return f"kuaiban-job-progress:{job}"


class Reporter:
    """``Reporter(job)(done, total)`` records how far ``job`` has got, at most twice a second
    (the last step always)."""

    def __init__(self, job: str) -> None:
        self.job = job
        self._last = 0.0

    def __call__(self, done: int, total: int) -> None:
        now = time.monotonic()
        if done < total and now - self._last < EVERY_SECONDS:
            return
        self._last = now
        caches["progress"].set(_key(self.job), (done, total), KEEP_SECONDS)


def progress(job: str) -> Progress | None:
    """How far ``job`` has got, or None before its first report."""
    found = caches["progress"].get(_key(job))
    if not isinstance(found, tuple) or len(found) != 2:
        return None
    return Progress(int(found[0]), int(found[1]))


def forget(job: str) -> None:
    """Drop ``job``'s progress (it ended, or failed: nothing should show it as running)."""
    caches["progress"].delete(_key(job))


def owned(task: Task[Any, Any], result_id: str, *, owner: int) -> TaskResult[Any] | None:
    """The result of ``task`` queued as ``result_id`` by user ``owner`` (the task's first
    argument), or None: an unknown or malformed id, another task's, or another user's job."""
    try:
        found = task.get_result(result_id)
    except TaskException:  # does not exist (a malformed id too), or belongs to another task
        return None
    if not found.args or found.args[0] != owner:
        return None
    return found


def running(result: TaskResult[Any]) -> bool:
    """Queued or running: the page shows its progress bar rather than its outcome."""
    return result.status in (TaskResultStatus.READY, TaskResultStatus.RUNNING)


def ended() -> HttpResponse:
    """The answer to a progress poll once its job has ended: no content, and htmx reloads the
    whole page, which then shows the outcome."""
    response = HttpResponse(status=204)
    response["HX-Refresh"] = "true"
    return response
