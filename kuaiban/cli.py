"""The ``kuaiban`` console script: Django's manage.py plus ``serve``.

``kuaiban serve`` runs Granian (a production-grade HTTP server for Python apps, written in Rust,
here serving Django's WSGI application); everything else passes through to Django's management
commands (``kuaiban migrate``, ``kuaiban demo``, ``kuaiban sweep`` ...).
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

log = logging.getLogger("kuaiban.serve")


def _serve(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="kuaiban serve", description="Serve Kuaiban (Granian).")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    # Two processes per core, each with a few threads that overlap the database round trips.
    # Measured on 2 cores (docs/performance.md, "Intake"): 4 x 2 took the least CPU per request;
    # more threads per process spend it on the GIL, more processes on switching.
    parser.add_argument(
        "--workers", type=int, default=int(os.environ.get("WEB_CONCURRENCY", "0")) or None
    )
    parser.add_argument("--threads", type=int, default=int(os.environ.get("WEB_THREADS", "2")))
    parser.add_argument(
        "--access-log",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="one line per request on standard output (default: on)",
    )
    parser.add_argument(
        "--background",
        action=argparse.BooleanOptionalAction,
        default=True,
        help=(
            "also run the background workers as child processes: the deadline sweep, webhook "
            "deliveries, model training jobs, the metrics facts and SMS retries (default: on; "
            "turn off "
            "where they run as services of their own)"
        ),
    )
    parser.add_argument(
        "--threads-idle-timeout",
        type=int,
        default=int(os.environ.get("WEB_THREADS_IDLE_TIMEOUT", "30")),
        help="seconds an idle blocking thread is kept (Granian, 5-600; default 30)",
    )
    args = parser.parse_args(argv)
    workers = args.workers or 2 * (os.cpu_count() or 1)

    import django
    from django.core.management import call_command
    from django.db import connections

    django.setup()
    # Static files are served by WhiteNoise from STATIC_ROOT; collect them so the server is
    # self-contained (quietly, and only what changed).
    call_command("collectstatic", interactive=False, verbosity=0)
    connections.close_all()  # the web processes are forked from this one: no shared sockets
    for conn in connections.all(initialized_only=True):
        close_pool = getattr(conn, "close_pool", None)
        if close_pool is not None:
            close_pool()  # nor a pool (its threads do not survive the fork): each opens its own

    from granian import Granian
    from granian.constants import Interfaces

    server = Granian(
        "kuaiban.wsgi:application",
        address=args.host,
        port=args.port,
        interface=Interfaces.WSGI,
        workers=workers,
        blocking_threads=args.threads,
        blocking_threads_idle_timeout=args.threads_idle_timeout,
        websockets=False,
        log_access=args.access_log,
        respawn_failed_workers=True,  # a web process that dies is replaced
    )
    # Granian forks its web processes from this one; like the background workers, they must not
    # outlive it, even if it is killed outright (they would keep the port).
    os.register_at_fork(after_in_child=_die_with_parent)
    supervisor = Supervisor(_background_commands()) if args.background else None
    if supervisor is not None:
        supervisor.start()
    try:
        server.serve()
    finally:
        if supervisor is not None:
            supervisor.stop()


# The periodic work the web processes leave to workers (each safe to run several times over).
BACKGROUND = (
    ("sweep", "--loop"),  # deadline warnings, escalation, notifications
    ("webhooks", "--loop"),  # outbound webhook deliveries with retries
    ("routing_worker", "--loop"),  # training jobs queued from the admin pages
    ("rollup", "--loop"),  # the metrics facts of changed appeals, in batches
    ("sms", "--loop"),  # SMS released after quiet hours, and retries of failed ones
    ("db_worker", "--no-reload"),  # background jobs (imports) queued by the pages
)


def _die_with_parent() -> None:
    """In the child: on Linux, get SIGTERM when the server dies, even if it is killed outright."""
    try:
        import ctypes

        ctypes.CDLL(None).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):  # not Linux: the server's own shutdown still stops them
        pass


def _background_commands() -> list[list[str]]:
    return [[sys.executable, "-m", "kuaiban.cli", *command] for command in BACKGROUND]


def _spawn(argv: Sequence[str]) -> subprocess.Popen[bytes]:
    # Own sessions: Ctrl-C reaches the server only, which then stops the workers in order.
    return subprocess.Popen(list(argv), start_new_session=True, preexec_fn=_die_with_parent)


@dataclass
class _Child:
    argv: list[str]
    process: subprocess.Popen[bytes] | None = None
    started: float = 0.0
    restarts: int = 0
    failures: int = 0  # exits in a row, each soon after its start
    restart_at: float | None = None

    @property
    def name(self) -> str:
        return (
            self.argv[3]
            if len(self.argv) > 3 and self.argv[1:3] == ["-m", "kuaiban.cli"]
            else (" ".join(self.argv))
        )


@dataclass
class Supervisor:
    """Runs the background workers and starts again any that exits, saying so on standard
    error, after 1, 2, 4 … seconds (at most ``max_delay``) so a worker that dies at once does not
    spin; a worker that ran ``healthy_after`` seconds before exiting restarts after ``delay``."""

    commands: Sequence[Sequence[str]]
    delay: float = 1.0
    max_delay: float = 60.0
    healthy_after: float = 60.0
    poll: float = 1.0
    spawn: Callable[[Sequence[str]], subprocess.Popen[bytes]] = _spawn
    children: list[_Child] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def _start(self, child: _Child) -> None:
        child.process = self.spawn(child.argv)
        child.started = time.monotonic()
        child.restart_at = None

    def start(self) -> None:
        self.children = [_Child(list(argv)) for argv in self.commands]
        for child in self.children:
            self._start(child)
        self._thread = threading.Thread(target=self._watch, name="kuaiban-supervisor", daemon=True)
        self._thread.start()

    def check(self) -> None:
        """One look at every child: note the ones that exited, restart the ones whose wait is
        over. The watcher thread calls it every ``poll`` seconds."""
        now = time.monotonic()
        with self._lock:
            if self._stopping.is_set():
                return
            for child in self.children:
                if child.restart_at is not None:
                    if now >= child.restart_at:
                        child.restarts += 1
                        log.warning(
                            "background worker %s: restarting (restart %d)",
                            child.name,
                            child.restarts,
                        )
                        self._start(child)
                    continue
                code = child.process.poll() if child.process is not None else 0
                if code is None:
                    continue
                ran = now - child.started
                child.failures = 1 if ran >= self.healthy_after else child.failures + 1
                wait = min(self.max_delay, self.delay * 2 ** (child.failures - 1))
                child.restart_at = now + wait
                log.warning(
                    "background worker %s exited with code %s after %.0fs; restarting in %.0fs",
                    child.name,
                    code,
                    ran,
                    wait,
                )

    def _watch(self) -> None:
        while not self._stopping.wait(self.poll):
            try:
                self.check()
            except Exception:  # the supervisor must outlive whatever goes wrong in one check
                log.exception("background supervisor: check failed")

    def stop(self, timeout: float = 30) -> None:
        with self._lock:
            self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=self.poll + 5)
        running = [c.process for c in self.children if c.process is not None]
        for process in running:
            if process.poll() is None:
                process.terminate()  # each loop finishes its current step on SIGTERM, then exits
        for process in running:
            try:
                process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kuaiban.settings")
    argv = sys.argv[1:]
    if argv and argv[0] == "serve":
        _serve(argv[1:])
        return
    from django.core.management import execute_from_command_line

    execute_from_command_line(["kuaiban", *argv])


if __name__ == "__main__":
    main()
