"""``kuaiban routing_worker [--loop]``: run the training jobs queued from the admin pages."""

from __future__ import annotations

import logging
import signal
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db import DatabaseError, close_old_connections, connection

from kuaiban.routing import services

log = logging.getLogger(__name__)


class Command(BaseCommand):
    help = (
        "Run every queued training job, then exit; with --loop keep waiting for more. Several "
        "workers may run at once: a conditional UPDATE gives each job to exactly one."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--loop", action="store_true", help="keep running")
        parser.add_argument("--interval", type=float, default=5.0, help="seconds between polls")

    def handle(self, *args: Any, **options: Any) -> None:
        self.stopping = False
        previous = {}
        if options["loop"]:
            for signum in (signal.SIGTERM, signal.SIGINT):
                previous[signum] = signal.signal(signum, self._stop)
        ran = 0
        try:
            while True:
                if not connection.in_atomic_block:
                    close_old_connections()
                try:
                    done = services.jobs_run(limit=1)
                except DatabaseError:
                    if not options["loop"]:
                        raise
                    log.exception("routing worker: database error; retrying")
                    connection.close()
                    time.sleep(options["interval"])
                    continue
                ran += done
                if done and not self.stopping:
                    continue
                if not options["loop"] or self.stopping:
                    break
                time.sleep(options["interval"])
                if self.stopping:
                    break
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)
        if options["verbosity"] >= 1:
            self.stdout.write(f"{ran} training job(s) run.")

    def _stop(self, signum: int, frame: Any) -> None:
        self.stopping = True
