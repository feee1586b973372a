"""``kuaiban webhooks [--loop]``: send due webhook deliveries (run by a worker, or by cron)."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from kuaiban.core.workers import run_loop
from kuaiban.integrations import services, webhooks

HOUSEKEEPING_EVERY = 60.0
BATCH = 100


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
        sent = 0
        last_housekeeping = 0.0

        def step() -> bool:
            nonlocal sent, last_housekeeping
            done = webhooks.deliveries_run(timeout=options["timeout"], limit=BATCH)
            sent += done
            if options["loop"] and time.monotonic() - last_housekeeping > HOUSEKEEPING_EVERY:
                services.rate_windows_prune()
                services.idempotency_prune()
                last_housekeeping = time.monotonic()
            return done == BATCH if not options["loop"] else bool(done)

        if options["loop"]:
            # Transient database errors are retried with backoff; see kuaiban.core.workers.
            run_loop("webhooks", step, interval=options["interval"])
        else:
            while step():
                pass
        if options["verbosity"] >= 1:
            self.stdout.write(f"{sent} webhook delivery attempt(s) made.")
