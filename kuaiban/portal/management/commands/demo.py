from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction

from kuaiban.appeals.models import Appeal
from kuaiban.core.jobs import Reporter
from kuaiban.org.demo import STAFF, build_directory, place_regions
from kuaiban.org.models import Unit
from kuaiban.portal.demo import DEMO_STEPS, PROGRESS_JOB, load_ledger, load_rest


class Command(BaseCommand):
    help = "Load the demo county (regions, units, users) and a ledger of demo appeals."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--appeals", type=int, default=2000, help="how many appeals (0: none)")
        parser.add_argument("--seed", type=int, default=2026)
        parser.add_argument(
            "--if-empty", action="store_true", help="do nothing if the database has units already"
        )
        parser.add_argument(
            "--background",
            action="store_true",
            help="load the directory now and queue the ledger for the worker (`kuaiban serve`)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["if_empty"] and Unit.objects.exists():
            self.stdout.write("The database already has a county; demo not loaded again.")
            self._logins()
            return
        if options["appeals"] < 0:
            self.stderr.write("--appeals must be 0 or more")
            raise SystemExit(2)
        started = time.monotonic()
        with transaction.atomic():
            directory = build_directory()
            place_regions(directory)
        if options["background"]:
            load_ledger.enqueue(options["appeals"], options["seed"])
            Reporter(PROGRESS_JOB)(0, options["appeals"] + len(DEMO_STEPS))  # the banner, at once
            self.stdout.write(
                f"Demo county ready: {len(directory.townships)} townships, "
                f"{len(directory.units)} units; its {options['appeals']} appeals are loading in "
                "the background (`kuaiban serve` runs the worker; every page shows the progress)."
            )
            self._logins()
            return
        made = load_rest(
            directory, appeals=options["appeals"], seed=options["seed"], say=self.stdout.write
        )
        self.stdout.write(
            f"Demo county ready: {len(directory.townships)} townships, "
            f"{len(directory.units)} units, "
            f"{made} new appeals ({Appeal.objects.count()} in the ledger) "
            f"in {time.monotonic() - started:.1f}s."
        )
        self._logins()

    def _logins(self) -> None:
        names = [u for u, _d, _r in STAFF] + ["handler-<unit code>, e.g. handler-zjj"]
        self.stdout.write(
            f"Demo logins (password: {settings.KUAIBAN_DEMO_PASSWORD}): {', '.join(names)}"
        )
