"""The ``kuaiban`` console script: Django's manage.py plus ``serve``.

``kuaiban serve`` runs Granian (a production-grade HTTP server for Python apps, written in Rust,
here serving Django's WSGI application); everything else passes through to Django's management
commands (``kuaiban migrate``, ``kuaiban demo``, ``kuaiban sweep`` ...).
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys


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
            "deliveries, model training jobs and the metrics facts (default: on; turn off "
            "where they run as services of their own)"
        ),
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

    from granian import Granian
    from granian.constants import Interfaces

    server = Granian(
        "kuaiban.wsgi:application",
        address=args.host,
        port=args.port,
        interface=Interfaces.WSGI,
        workers=workers,
        blocking_threads=args.threads,
        websockets=False,
        log_access=args.access_log,
        respawn_failed_workers=True,  # a web process that dies is replaced
    )
    # Granian forks its web processes from this one; like the background workers, they must not
    # outlive it, even if it is killed outright (they would keep the port).
    os.register_at_fork(after_in_child=_die_with_parent)
    children = _start_background() if args.background else []
    try:
        server.serve()
    finally:
        _stop_background(children)


# The periodic work the web processes leave to workers (each safe to run several times over).
BACKGROUND = (
    ("sweep", "--loop"),  # deadline warnings, escalation, notifications
    ("webhooks", "--loop"),  # outbound webhook deliveries with retries
    ("routing_worker", "--loop"),  # training jobs queued from the admin pages
    ("rollup", "--loop"),  # the metrics facts of changed appeals, in batches
)


def _die_with_parent() -> None:
    """In the child: on Linux, get SIGTERM when the server dies, even if it is killed outright."""
    try:
        import ctypes

        ctypes.CDLL(None).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):  # not Linux: the server's own shutdown still stops them
        pass


def _start_background() -> list[subprocess.Popen[bytes]]:
    # Own sessions: Ctrl-C reaches the server only, which then stops the workers in order.
    return [
        subprocess.Popen(
            [sys.executable, "-m", "kuaiban.cli", *command],
            start_new_session=True,
            preexec_fn=_die_with_parent,
        )
        for command in BACKGROUND
    ]


def _stop_background(children: list[subprocess.Popen[bytes]]) -> None:
    for child in children:
        child.terminate()  # each loop finishes its current step on SIGTERM, then exits
    for child in children:
        try:
            child.wait(timeout=30)
        except subprocess.TimeoutExpired:
            child.kill()


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
