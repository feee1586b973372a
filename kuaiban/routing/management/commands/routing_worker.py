"""``kuaiban routing_worker [--loop]``: run the training jobs queued from the admin pages."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from kuaiban.core.workers import run_loop
from kuaiban.routing import services


class Command(BaseCommand):
    help = (
        "Run every queued training job, then exit; with --loop keep waiting for more. Before "
        "each poll a lead-unit job is queued when enough appeals were replied to since the "
        "active lead-unit model (KUAIBAN_ROUTING_RETRAIN_AFTER). Several workers may run at "
        "once: a conditional UPDATE gives each job to exactly one."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--loop", action="store_true", help="keep running")
        parser.add_argument("--interval", type=float, default=5.0, help="seconds between polls")

    def handle(self, *args: Any, **options: Any) -> None:
        ran = 0

        def step() -> bool:
            nonlocal ran
            services.retrain_if_due()
            done = services.jobs_run(limit=1)
            ran += done
            return bool(done)  # one job done: look for the next at once

        if options["loop"]:
            # Transient database errors are retried with backoff; see kuaiban.core.workers.
            run_loop("routing_worker", step, interval=options["interval"])
        else:
            while step():
                pass
        if options["verbosity"] >= 1:
            self.stdout.write(f"{ran} training job(s) run.")
