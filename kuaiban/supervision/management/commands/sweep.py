"""``kuaiban sweep [--loop]``: deadline warnings, escalation and notifications."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from kuaiban.core.workers import run_loop
from kuaiban.deadlines import services as deadlines
from kuaiban.supervision.services.sweep import sweep


class Command(BaseCommand):
    help = (
        "Mark appeals yellow before a deadline and red once it passes (one event per change), "
        "mark overdue supervision orders, and notify the people concerned. Idempotent; safe "
        "to run from cron every minute or as a worker with --loop, several at once."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--loop", action="store_true", help="keep sweeping until stopped")
        parser.add_argument(
            "--interval", type=float, default=60.0, help="seconds between sweeps with --loop"
        )
        parser.add_argument("--batch", type=int, default=500, help="appeals per transaction")
        parser.add_argument("--no-mail", action="store_true", help="leave e-mails pending")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["batch"] < 1 or options["interval"] <= 0:
            self.stderr.write("--batch and --interval must be positive")
            raise SystemExit(2)
        warned: set[int] = set()

        def step() -> bool:
            result = sweep(batch=options["batch"], mail=not options["no_mail"])
            for year in result.unknown_years:
                if year not in warned:
                    warned.add(year)
                    self.stderr.write(
                        self.style.WARNING(
                            f"chinese-calendar does not know {year}: working days fall back to "
                            f"weekends only ({deadlines.overrides_in(year)} override days "
                            "entered). Upgrade chinese-calendar or enter the holiday notice in "
                            "the admin (Calendar days)."
                        )
                    )
            if options["verbosity"] > 0 and (
                result.changes or result.mailed or not options["loop"]
            ):
                self.stdout.write(result.summary())
            return False

        if not options["loop"]:
            step()
            return
        # Transient database errors are retried with backoff; see kuaiban.core.workers.
        run_loop("sweep", step, interval=options["interval"])
        self.stdout.write("sweep: stopped")
