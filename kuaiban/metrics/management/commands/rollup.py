"""``kuaiban rollup``: bring the metrics facts up to date (``--rebuild`` recomputes them all)."""

from __future__ import annotations

import logging
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db import DatabaseError, close_old_connections

from kuaiban.core.workers import Stopper
from kuaiban.metrics import facts

log = logging.getLogger(__name__)


class Command(BaseCommand):
    help = "Refresh the metrics facts of changed appeals; --rebuild recomputes every fact."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--rebuild", action="store_true", help="recompute every appeal")
        parser.add_argument("--loop", action="store_true", help="keep refreshing every few seconds")
        parser.add_argument("--interval", type=float, default=5.0)

    def handle(self, *args: Any, **options: Any) -> None:
        started = time.monotonic()
        if options["rebuild"]:
            n = facts.rebuild(
                progress=lambda done: (
                    self.stdout.write(f"  {done} appeals…") if options["verbosity"] > 1 else None
                )
            )
            self.stdout.write(
                f"Rebuilt the facts of {n} appeals in {time.monotonic() - started:.1f}s."
            )
            return
        stopper = Stopper()
        if options["loop"]:
            stopper.install()
        while True:
            try:
                n = facts.catch_up()
            except DatabaseError:
                if not options["loop"]:
                    raise
                # The database restarted or failed over: report, wait, reconnect, go on.
                log.exception("rollup worker: database error; retrying")
                n = 0
            if n or not options["loop"]:
                self.stdout.write(f"Refreshed the facts of {n} appeals.")
            if not options["loop"]:
                return
            if stopper.sleep(options["interval"]):
                return
            close_old_connections()  # a long-lived worker outlives database connections
