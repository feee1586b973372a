"""The ``kuaiban`` console script: Django's manage.py plus ``serve``.

``kuaiban serve`` runs gunicorn (a production-grade WSGI server); everything else passes through
to Django's management commands (``kuaiban migrate``, ``kuaiban demo``, ``kuaiban sweep`` ...).
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys


def _serve(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="kuaiban serve", description="Serve Kuaiban (gunicorn).")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    # One process per core, each with a pool of threads that overlap the database round trips.
    # Measured on 2 cores (docs/performance.md): 2 workers x 8 threads took about half the CPU per
    # request of gunicorn's sync-worker rule of thumb (2 x cores + 1 = 5 workers x 4 threads).
    parser.add_argument(
        "--workers", type=int, default=int(os.environ.get("WEB_CONCURRENCY", "0")) or None
    )
    parser.add_argument("--threads", type=int, default=int(os.environ.get("WEB_THREADS", "8")))
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
    workers = args.workers or os.cpu_count() or 1

    import django
    from django.core.management import call_command

    django.setup()
    # Static files are served by WhiteNoise from STATIC_ROOT; collect them so the server is
    # self-contained (quietly, and only what changed).
    call_command("collectstatic", interactive=False, verbosity=0)

    from gunicorn.app.wsgiapp import WSGIApplication

    sys.argv = [
        "gunicorn",
        "kuaiban.wsgi:application",
        "--bind",
        f"{args.host}:{args.port}",
        "--workers",
        str(workers),
        "--threads",
        str(args.threads),
        *(["--access-logfile", "-"] if args.access_log else []),
        "--timeout",
        "60",
    ]
    children = _start_background() if args.background else []
    try:
        WSGIApplication("%(prog)s [OPTIONS] [APP_MODULE]").run()
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
    # Own sessions: Ctrl-C reaches gunicorn only, which then stops the workers in order.
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
