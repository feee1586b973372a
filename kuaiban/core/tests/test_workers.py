"""Workers survive transient database errors and beat; serve restarts a worker that exits;
/healthz tells a load balancer whether the database and the workers are alive."""

from __future__ import annotations

import datetime as dt
import logging
import subprocess
import sys
import time
from typing import Any

import pytest
from django.core.management import call_command
from django.db import OperationalError, ProgrammingError
from django.test import Client
from django.utils import timezone

from kuaiban import cli
from kuaiban.core import workers
from kuaiban.core.models import WorkerHeartbeat

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _quick_backoff(settings: Any) -> None:
    settings.KUAIBAN_WORKER_BACKOFF_SECONDS = 0.01


def _stop_after(calls: int) -> Any:
    """A Stopper.sleep that asks the loop to stop at the ``calls``-th idle wait."""
    seen = {"n": 0}

    def sleep(self: workers.Stopper, seconds: float) -> bool:
        seen["n"] += 1
        if seen["n"] >= calls:
            self.stopping = True
        return self.stopping

    return sleep


def test_sweep_loop_survives_database_is_locked_and_records_it(
    monkeypatch: Any, caplog: Any
) -> None:
    from kuaiban.supervision.management.commands import sweep as command

    real = command.sweep
    calls = {"n": 0}
    beats: list[WorkerHeartbeat] = []

    def flaky(**kwargs: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 1:
            raise OperationalError("database is locked")
        beats.extend(WorkerHeartbeat.objects.filter(name="sweep"))
        return real(**kwargs)

    monkeypatch.setattr(command, "sweep", flaky)
    # The backoff wait goes by; the loop stops at its first idle wait.
    monkeypatch.setattr(workers.Stopper, "sleep", _stop_after(2))
    with caplog.at_level(logging.WARNING, logger="kuaiban.workers"):
        call_command("sweep", "--loop", "--interval", "0.01", verbosity=0)
    assert calls["n"] == 2  # the error did not end the worker: the sweep ran again
    assert "database is locked" in caplog.text
    [beat] = beats  # recorded while the worker still ran
    assert beat.errors == 1
    assert beat.last_error == "OperationalError: database is locked"
    assert beat.last_error_at is not None
    # A clean stop removes the row: a worker stopped on purpose is not a stale one.
    assert not WorkerHeartbeat.objects.filter(name="sweep").exists()


def test_a_step_that_is_wrong_ends_the_worker_after_recording_it(monkeypatch: Any) -> None:
    from kuaiban.metrics.management.commands import rollup as command

    def broken() -> int:
        raise ProgrammingError('relation "metrics_fact" does not exist')

    monkeypatch.setattr(command.facts, "catch_up", broken)
    with pytest.raises(ProgrammingError):
        call_command("rollup", "--loop", "--interval", "0.01", verbosity=0)
    row = WorkerHeartbeat.objects.get(name="rollup")  # left for /healthz to report stale
    assert row.last_error.startswith("ProgrammingError")


def test_backoff_doubles_up_to_the_ceiling(settings: Any) -> None:
    settings.KUAIBAN_WORKER_BACKOFF_SECONDS = 1.0
    settings.KUAIBAN_WORKER_BACKOFF_MAX_SECONDS = 60.0
    assert [workers.backoff(n) for n in (1, 2, 3, 7, 8, 20)] == [1, 2, 4, 60, 60, 60]


# ----- serve's supervisor ------------------------------------------------------------------


def test_supervisor_restarts_a_child_that_exits(caplog: Any) -> None:
    quick = [sys.executable, "-c", "import sys; sys.exit(3)"]
    supervisor = cli.Supervisor([quick], delay=0.05, max_delay=0.2, healthy_after=60, poll=0.05)
    with caplog.at_level(logging.WARNING, logger="kuaiban.serve"):
        supervisor.start()
        try:
            deadline = time.monotonic() + 30
            while supervisor.children[0].restarts < 3 and time.monotonic() < deadline:
                time.sleep(0.05)
        finally:
            supervisor.stop()
    child = supervisor.children[0]
    assert child.restarts >= 3
    assert "exited with code 3" in caplog.text
    assert "restarting (restart 1)" in caplog.text
    assert child.process is not None and child.process.poll() is not None


def test_supervisor_backs_off_a_crash_loop_and_leaves_a_running_child_alone() -> None:
    spawned: list[list[str]] = []

    def spawn(argv: Any) -> subprocess.Popen[bytes]:
        spawned.append(list(argv))
        return subprocess.Popen(list(argv))

    crash = [sys.executable, "-c", "raise SystemExit(1)"]
    steady = [sys.executable, "-c", "import time; time.sleep(60)"]
    supervisor = cli.Supervisor(
        [crash, steady], delay=1.0, max_delay=8.0, healthy_after=60, spawn=spawn
    )
    supervisor.start()
    try:
        crashing = supervisor.children[0]
        assert crashing.process is not None
        crashing.process.wait()
        waits = []
        for _ in range(5):
            supervisor.check()  # notes the exit and schedules the restart
            assert crashing.restart_at is not None
            waits.append(round(crashing.restart_at - time.monotonic()))
            crashing.restart_at = time.monotonic() - 1  # the wait is over
            supervisor.check()  # restarts it
            assert crashing.process is not None
            crashing.process.wait()
        assert waits == [1, 2, 4, 8, 8]  # doubling, up to the ceiling
        assert spawned.count(steady) == 1  # the running one was never restarted
    finally:
        supervisor.stop(timeout=5)
    assert all(c.process is not None and c.process.poll() is not None for c in supervisor.children)


# ----- /healthz ------------------------------------------------------------------------------


def _beat(name: str, age: dt.timedelta, interval: float = 60.0) -> WorkerHeartbeat:
    now = timezone.now()
    return WorkerHeartbeat.objects.create(
        name=name,
        host="kb-app-1",
        pid=4242,
        started_at=now - dt.timedelta(hours=1),
        last_beat=now - age,
        interval=interval,
    )


def test_healthz_is_ok_with_fresh_beats(client: Client) -> None:
    _beat("sweep", dt.timedelta(seconds=30))
    _beat("webhooks", dt.timedelta(seconds=2), interval=1.0)
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok" and body["database"] == "ok"
    assert {w["name"]: w["stale"] for w in body["workers"]} == {"sweep": False, "webhooks": False}
    assert response["Cache-Control"].startswith("max-age=0")


def test_healthz_is_503_when_a_worker_is_stale(client: Client, settings: Any) -> None:
    settings.KUAIBAN_WORKER_STALE_SECONDS = 300
    _beat("sweep", dt.timedelta(seconds=30))
    _beat("rollup", dt.timedelta(minutes=10), interval=5.0)
    response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "fail" and body["database"] == "ok"
    assert {w["name"]: w["stale"] for w in body["workers"]} == {"sweep": False, "rollup": True}


def test_healthz_is_503_when_the_database_is_down(client: Client, monkeypatch: Any) -> None:
    from kuaiban.core import health

    class Down:
        def __enter__(self) -> Any:
            raise OperationalError("connection refused")

        def __exit__(self, *args: Any) -> None:
            return None

    monkeypatch.setattr(health.connection, "cursor", lambda: Down())
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json() == {"status": "fail", "database": "fail", "workers": []}


def test_healthz_needs_no_login_and_takes_no_writes(client: Client) -> None:
    assert client.get("/healthz").status_code == 200
    assert client.post("/healthz").status_code == 405
