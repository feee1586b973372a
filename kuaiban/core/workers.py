"""Plumbing for the background workers' ``--loop`` (``kuaiban sweep``, ``kuaiban rollup`` …).

:func:`run_loop` is the one loop they share: it runs a step, sleeps, and keeps going through the
database's transient failures (``database is locked`` on SQLite under a big import, a PostgreSQL
restart or failover, ``too many clients``): it closes the broken connection, waits with an
exponential backoff and tries again, recording each error and every step in the worker's
heartbeat row (:class:`kuaiban.core.models.WorkerHeartbeat`, read by ``/healthz``). Any other
exception ends the process, after recording it; ``kuaiban serve`` restarts the worker.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import os
import signal
import socket
import time
from collections.abc import Callable, Iterator
from types import FrameType
from typing import Any

from django.conf import settings
from django.db import DatabaseError, InterfaceError, OperationalError, close_old_connections
from django.db import connection as db_connection
from django.utils import timezone

log = logging.getLogger("kuaiban.workers")

# Errors that say "the database could not be reached or was busy", not "the step is wrong".
TRANSIENT: tuple[type[Exception], ...] = (OperationalError, InterfaceError)
# A worker whose steps take a second writes its heartbeat this often at most.
BEAT_EVERY = 10.0


class Stopper:
    """SIGTERM or SIGINT asks a looping worker to stop once its current step is done."""

    def __init__(self) -> None:
        self.stopping = False
        self._previous: dict[int, Any] = {}

    def install(self) -> None:
        for signum in (signal.SIGTERM, signal.SIGINT):
            self._previous[signum] = signal.signal(signum, self._stop)

    def restore(self) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
        self._previous.clear()

    def _stop(self, signum: int, frame: FrameType | None) -> None:
        self.stopping = True

    def sleep(self, seconds: float) -> bool:
        """Wait up to ``seconds``, waking early when asked to stop; True if asked to stop."""
        deadline = time.monotonic() + seconds
        while not self.stopping and (left := deadline - time.monotonic()) > 0:
            time.sleep(min(0.5, left))
        return self.stopping


def _reset_connection() -> None:
    """Drop a connection that failed, so the next step opens a fresh one."""
    if db_connection.in_atomic_block:  # a test's transaction, or a caller's: not ours to close
        return
    with contextlib.suppress(DatabaseError):
        db_connection.close()


def _describe(exc: BaseException) -> str:
    # The class and the database's message (no parameters, which may hold personal data).
    return f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"[:500]


class Heartbeat:
    """The worker's row in ``WorkerHeartbeat``. Never lets a failed write stop the worker."""

    def __init__(self, name: str, interval: float) -> None:
        self.name = name
        self.interval = interval
        self.host = socket.gethostname()[:100]
        self.pid = os.getpid()
        self.started_at = timezone.now()
        self.errors = 0
        self._last_write = 0.0

    def _write(self, **fields: Any) -> None:
        from kuaiban.core.models import WorkerHeartbeat

        try:
            WorkerHeartbeat.objects.update_or_create(
                name=self.name,
                host=self.host,
                pid=self.pid,
                defaults={
                    "started_at": self.started_at,
                    "last_beat": timezone.now(),
                    "interval": self.interval,
                    "errors": self.errors,
                    **fields,
                },
            )
            self._last_write = time.monotonic()
        except DatabaseError:
            # The database is what is failing; the next beat will say so, or the row's age will.
            log.warning("%s: could not write the heartbeat", self.name, exc_info=True)
            _reset_connection()

    def start(self) -> None:
        """Forget this host's earlier rows for the same worker whose process is gone."""
        from kuaiban.core.models import WorkerHeartbeat

        try:
            for row in WorkerHeartbeat.objects.filter(name=self.name, host=self.host):
                if row.pid != self.pid and not _pid_alive(row.pid):
                    row.delete()
        except DatabaseError:
            log.warning("%s: could not tidy earlier heartbeats", self.name, exc_info=True)
            _reset_connection()
        self._write()

    def beat(self, *, force: bool = False) -> None:
        if force or time.monotonic() - self._last_write >= BEAT_EVERY:
            self._write()

    def error(self, exc: BaseException) -> None:
        self.errors += 1
        self._write(last_error=_describe(exc), last_error_at=timezone.now())

    def stop(self) -> None:
        from kuaiban.core.models import WorkerHeartbeat

        try:
            WorkerHeartbeat.objects.filter(name=self.name, host=self.host, pid=self.pid).delete()
        except DatabaseError:
            log.warning("%s: could not remove the heartbeat", self.name, exc_info=True)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process with that id: leave its row
        return True
    return True


def backoff(failures: int) -> float:
    """Seconds to wait after the ``failures``-th transient error in a row: 1, 2, 4 … 60."""
    base = float(getattr(settings, "KUAIBAN_WORKER_BACKOFF_SECONDS", 1.0))
    ceiling = float(getattr(settings, "KUAIBAN_WORKER_BACKOFF_MAX_SECONDS", 60.0))
    return float(min(ceiling, base * 2 ** max(0, failures - 1)))


@contextlib.contextmanager
def _signals(stopper: Stopper) -> Iterator[None]:
    stopper.install()
    try:
        yield
    finally:
        stopper.restore()


def run_loop(
    name: str,
    step: Callable[[], bool],
    *,
    interval: float,
    stopper: Stopper | None = None,
) -> None:
    """Run ``step`` until SIGTERM/SIGINT. ``step`` returns True when it may have more to do
    at once (then it runs again without sleeping), False to sleep ``interval`` seconds.

    Transient database errors (:data:`TRANSIENT`) are logged, recorded in the heartbeat, the
    connection is closed and the step is retried after :func:`backoff`; other exceptions are
    recorded and re-raised (the process ends, and ``kuaiban serve`` starts it again).
    """
    stopper = stopper or Stopper()
    heartbeat = Heartbeat(name, interval)
    failures = 0
    with _signals(stopper):
        heartbeat.start()
        try:
            while not stopper.stopping:
                if not db_connection.in_atomic_block:
                    close_old_connections()  # a long-lived worker outlives connections
                try:
                    busy = step()
                except TRANSIENT as exc:
                    failures += 1
                    delay = backoff(failures)
                    log.warning(
                        "%s: transient database error (%d in a row), retrying in %.1fs: %s",
                        name,
                        failures,
                        delay,
                        _describe(exc),
                    )
                    _reset_connection()
                    heartbeat.error(exc)
                    if stopper.sleep(delay):
                        break
                    continue
                except Exception as exc:
                    log.exception("%s: step failed; the worker stops", name)
                    _reset_connection()
                    heartbeat.error(exc)
                    raise
                if failures:
                    log.warning("%s: the database answers again after %d errors", name, failures)
                    heartbeat.beat(force=True)
                    failures = 0
                else:
                    heartbeat.beat()
                if busy and not stopper.stopping:
                    continue
                if stopper.sleep(interval):
                    break
        finally:
            if stopper.stopping:
                heartbeat.stop()


def stale_after(interval: float) -> dt.timedelta:
    """How old a worker's heartbeat may be before ``/healthz`` calls it stale."""
    threshold = float(getattr(settings, "KUAIBAN_WORKER_STALE_SECONDS", 300))
    return dt.timedelta(seconds=threshold + max(0.0, interval))
