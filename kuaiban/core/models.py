"""Operational state shared by every app: the background workers' heartbeats."""

from __future__ import annotations

from typing import ClassVar

from django.db import models
from django.utils.translation import gettext_lazy as _


class WorkerHeartbeat(models.Model):
    """One running ``--loop`` worker: who it is, when it last finished a step, its last error.

    Written by :func:`kuaiban.core.workers.run_loop` after each step (at most every few
    seconds) and deleted when the worker stops cleanly; ``/healthz`` reports a row whose beat is
    older than ``KUAIBAN_WORKER_STALE_SECONDS`` (plus its own interval) as stale.
    """

    name = models.CharField(_("worker"), max_length=40)
    host = models.CharField(_("host"), max_length=100)
    pid = models.PositiveIntegerField(_("process id"))
    started_at = models.DateTimeField(_("started at"))
    last_beat = models.DateTimeField(_("last heartbeat"))
    interval = models.FloatField(_("interval (seconds)"), default=0)
    errors = models.PositiveIntegerField(_("transient errors"), default=0)
    last_error = models.CharField(_("last error"), max_length=500, blank=True)
    last_error_at = models.DateTimeField(_("last error at"), null=True, blank=True)

    class Meta:
        ordering: ClassVar = ["name", "host", "pid"]
        verbose_name = _("worker heartbeat")
        verbose_name_plural = _("worker heartbeats")
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["name", "host", "pid"], name="heartbeat_unique_worker")
        ]

    def __str__(self) -> str:
        return f"{self.name}@{self.host}:{self.pid}"
