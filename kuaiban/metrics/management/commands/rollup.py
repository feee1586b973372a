"""``kuaiban rollup``: bring the metrics facts up to date (``--rebuild`` recomputes them all)."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from kuaiban.core.workers import run_loop
from kuaiban.metrics import facts


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

        def step() -> bool:
            n = facts.catch_up()
            if n or not options["loop"]:
                self.stdout.write(f"Refreshed the facts of {n} appeals.")
            return False

        if not options["loop"]:
            step()
            return
        # Transient database errors are retried with backoff; see kuaiban.core.workers.
        run_loop("rollup", step, interval=options["interval"])
