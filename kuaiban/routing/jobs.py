"""Training jobs queued from the admin pages and run by ``kuaiban routing_worker``: a conditional
UPDATE gives each job to exactly one worker."""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
import threading
import traceback

from django.conf import settings
from django.db.models import Q
from django.utils.translation import gettext as _

from kuaiban.appeals.models import Appeal
from kuaiban.core import clock
from kuaiban.core.errors import DomainError
from kuaiban.core.jobs import Reporter
from kuaiban.org.models import User
from kuaiban.routing.models import (
    ModelVersion,
    Target,
    TrainingJob,
)
from kuaiban.routing.training import (
    FINISHED,
    clean_folds,
    clean_target,
    ledger_samples,
    model_train,
)

log = logging.getLogger(__name__)

JOB_STALE_AFTER = dt.timedelta(hours=6)


def job_enqueue(
    *, target: str, cv_folds: int = 5, activate: bool = True, actor: User | None = None
) -> TrainingJob:
    return TrainingJob.objects.create(
        target=clean_target(target),
        cv_folds=clean_folds(cv_folds),
        activate=activate,
        created_at=clock.now(),
        created_by=actor,
    )


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident() % 10000}"


def job_claim(*, worker: str) -> TrainingJob | None:
    """Take the oldest queued job (or one whose worker vanished long ago), or None.

    A conditional UPDATE decides between workers: only one sees its row count as 1.
    """
    now = clock.now()
    for _attempt in range(10):
        candidate = (
            TrainingJob.objects.filter(
                Q(status=TrainingJob.Status.QUEUED)
                | Q(status=TrainingJob.Status.RUNNING, started_at__lt=now - JOB_STALE_AFTER)
            )
            .order_by("created_at", "id")
            .values("pk", "status", "started_at")
            .first()
        )
        if candidate is None:
            return None
        won = TrainingJob.objects.filter(
            pk=candidate["pk"], status=candidate["status"], started_at=candidate["started_at"]
        ).update(status=TrainingJob.Status.RUNNING, started_at=now, worker=worker[:100])
        if won:
            return TrainingJob.objects.get(pk=candidate["pk"])
    return None


def _summary(row: ModelVersion) -> str:
    scores = (
        _("cross-validated macro-F1 %(f1).4f, accuracy %(acc).4f over %(k)d folds")
        % {"f1": row.cv_macro_f1, "acc": row.cv_accuracy, "k": row.cv_folds}
        if row.cv_macro_f1 is not None
        else _("not cross-validated")
    )
    return _("%(version)s: %(n)d samples, %(classes)d classes, %(scores)s%(active)s.") % {
        "version": row.version,
        "n": row.n_samples,
        "classes": len(row.classes),
        "scores": scores,
        "active": _(", active") if row.active else "",
    }


def progress_key(job: TrainingJob) -> str:
    """The job's progress in ``kuaiban.core.jobs`` (folds, final fit, saved version)."""
    return f"training:{job.pk}:{job.started_at and job.started_at.isoformat()}"


def job_run(job: TrainingJob) -> TrainingJob:
    """Train from the ledger as the job says, reporting its progress; record done (with the
    version) or failed."""
    result: ModelVersion | None = None
    try:
        texts, labels = ledger_samples(target=job.target)
        result = model_train(
            target=job.target,
            texts=texts,
            labels=labels,
            source=_("ledger: %(n)d finished appeals") % {"n": len(texts)},
            cv_folds=job.cv_folds,
            activate=job.activate,
            actor=job.created_by,
            progress=Reporter(progress_key(job)),
        )
        status, output = TrainingJob.Status.DONE, _summary(result)
    except DomainError as exc:
        status, output = TrainingJob.Status.FAILED, str(exc.message)
    except Exception:
        log.exception("routing: training job %s failed", job.pk)
        status, output = TrainingJob.Status.FAILED, traceback.format_exc(limit=5)
    TrainingJob.objects.filter(pk=job.pk, worker=job.worker).update(
        status=status, finished_at=clock.now(), result=result, output=output
    )
    job.refresh_from_db()
    return job


def retrain_after() -> int:
    """Finished appeals since the active lead-unit model that make the worker retrain it
    (setting ``KUAIBAN_ROUTING_RETRAIN_AFTER``, 200 by default; 0 turns it off)."""
    return int(getattr(settings, "KUAIBAN_ROUTING_RETRAIN_AFTER", 200))


def retrain_if_due() -> TrainingJob | None:
    """Queue a lead-unit training job when at least ``retrain_after()`` appeals received a reply
    since the active lead-unit model was trained (none active: since ever) and no lead-unit job
    is waiting or running. The worker calls this before each poll, so the model follows the
    county's own dispatch outcomes without anyone queuing a job."""
    every = retrain_after()
    if every <= 0:
        return None
    pending = TrainingJob.objects.filter(
        target=Target.UNIT,
        status__in=[TrainingJob.Status.QUEUED, TrainingJob.Status.RUNNING],
    )
    if pending.exists():
        return None
    active = ModelVersion.objects.filter(target=Target.UNIT, active=True).first()
    finished = Appeal.objects.filter(status__in=FINISHED, lead_unit__isnull=False)
    if active is not None:
        finished = finished.filter(replied_at__gt=active.trained_at)
    if finished.count() < every:
        return None
    return job_enqueue(target=Target.UNIT, cv_folds=0, activate=True)


def jobs_run(*, worker: str | None = None, limit: int | None = None) -> int:
    """Run queued jobs until none is left (or ``limit`` ran); returns how many ran."""
    name = worker or worker_name()
    done = 0
    while limit is None or done < limit:
        job = job_claim(worker=name)
        if job is None:
            break
        job_run(job)
        done += 1
    return done
