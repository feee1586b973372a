"""``kuaiban sms [--loop]``: send due SMS messages (run by a worker, or by cron)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from kuaiban.core.workers import run_loop
from kuaiban.notify import sms

BATCH = 100


class Command(BaseCommand):
    help = (
        "Send every SMS that is due (released after quiet hours, or retried after a failure), "
        "then exit; with --loop keep doing so. Several workers may run at once: each message "
        "is claimed by exactly one."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--loop", action="store_true", help="keep running")
        parser.add_argument(
            "--interval", type=float, default=2.0, help="seconds to sleep when idle (--loop)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        handled = 0

        def step() -> bool:
            nonlocal handled
            done = sms.messages_run(limit=BATCH)
            handled += done
            return done == BATCH

        if options["loop"]:
            # Transient database errors are retried with backoff; see kuaiban.core.workers.
            run_loop("sms", step, interval=options["interval"])
        else:
            while step():
                pass
        if options["verbosity"] >= 1:
            self.stdout.write(f"{handled} SMS message(s) handled.")
