"""``kuaiban webhooks [--loop]``: send due webhook deliveries (run by a worker, or by cron)."""

from __future__ import annotations

import logging
import signal
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db import DatabaseError, close_old_connections, connection

from kuaiban.integrations import services, webhooks

HOUSEKEEPING_EVERY = 60.0
log = logging.getLogger(__name__)


class Command(BaseCommand):
    help = (
        "Send every webhook delivery that is due, then exit; with --loop keep doing so. "
        "Several workers may run at once: each delivery is claimed by exactly one."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--loop", action="store_true", help="keep running")
        parser.add_argument(
            "--interval", type=float, default=1.0, help="seconds to sleep when idle (--loop)"
        )
        parser.add_argument(
            "--timeout", type=float, default=webhooks.TIMEOUT_SECONDS, help="HTTP timeout, seconds"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        self.stopping = False
        previous = {}
        if options["loop"]:
            for signum in (signal.SIGTERM, signal.SIGINT):
                previous[signum] = signal.signal(signum, self._stop)
        try:
            sent = self._run(options)
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)
        if options["verbosity"] >= 1:
            self.stdout.write(f"{sent} webhook delivery attempt(s) made.")

    def _run(self, options: dict[str, Any]) -> int:
        sent = 0
        last_housekeeping = 0.0
        while True:
            if not connection.in_atomic_block:
                close_old_connections()  # a long-running worker outlives database connections
            try:
                done = webhooks.deliveries_run(timeout=options["timeout"], limit=100)
            except DatabaseError:
                if not options["loop"]:
                    raise
                # The database restarted or failed over: report, wait, reconnect, go on.
                log.exception("webhook worker: database error; retrying")
                connection.close()
                time.sleep(options["interval"])
                continue
            sent += done
            if not options["loop"]:
                if done == 100:
                    continue
                break
            if time.monotonic() - last_housekeeping > HOUSEKEEPING_EVERY:
                services.rate_windows_prune()
                services.idempotency_prune()
                last_housekeeping = time.monotonic()
            if self.stopping:
                break
            if not done:
                time.sleep(options["interval"])
            if self.stopping:
                break
        return sent

    def _stop(self, signum: int, frame: Any) -> None:
        self.stopping = True
