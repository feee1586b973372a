from __future__ import annotations

import importlib
import time
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction

from kuaiban.appeals.demo import make_appeals
from kuaiban.appeals.models import Appeal
from kuaiban.notify.hooks import silenced as sms_silenced
from kuaiban.org.demo import STAFF, build_directory, place_regions
from kuaiban.org.models import Unit

DEMO_STEPS = [
    "kuaiban.supervision.demo",
    "kuaiban.enterprise.demo",
    "kuaiban.projects.demo",
    "kuaiban.integrations.demo",
    "kuaiban.open311.demo",
    "kuaiban.routing.demo",
    "kuaiban.themes.demo",
]


class Command(BaseCommand):
    help = "Load the demo county (regions, units, users) and a ledger of demo appeals."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--appeals", type=int, default=2000, help="how many appeals (0: none)")
        parser.add_argument("--seed", type=int, default=2026)
        parser.add_argument(
            "--if-empty", action="store_true", help="do nothing if the database has units already"
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
        # The demo invents a history: nobody is told of it (no SMS, no handler's notice).
        with sms_silenced():
            self._load(options, started)
        self._logins()

    def _load(self, options: dict[str, Any], started: float) -> None:
        with transaction.atomic():
            directory = build_directory()
            place_regions(directory)
        made = 0
        if options["appeals"]:
            with transaction.atomic():
                made = make_appeals(directory, count=options["appeals"], seed=options["seed"])
        # Each domain may add its part of the demo: a module `kuaiban.<app>.demo` with
        # `load(directory, *, seed, with_appeals)` returning a one-line summary; with_appeals
        # False (`--appeals 0`) means it must not create appeals.
        for module_name in DEMO_STEPS:
            try:
                module = importlib.import_module(module_name)
            except ModuleNotFoundError as exc:
                if exc.name != module_name:
                    raise
                continue
            with transaction.atomic():
                summary = module.load(
                    directory, seed=options["seed"], with_appeals=options["appeals"] > 0
                )
            if summary:
                self.stdout.write(str(summary))
        self.stdout.write(
            f"Demo county ready: {len(directory.townships)} townships, "
            f"{len(directory.units)} units, "
            f"{made} new appeals ({Appeal.objects.count()} in the ledger) "
            f"in {time.monotonic() - started:.1f}s."
        )

    def _logins(self) -> None:
        names = [u for u, _d, _r in STAFF] + ["handler-<unit code>, e.g. handler-zjj"]
        self.stdout.write(
            f"Demo logins (password: {settings.KUAIBAN_DEMO_PASSWORD}): {', '.join(names)}"
        )
