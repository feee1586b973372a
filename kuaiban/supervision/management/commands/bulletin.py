"""``kuaiban bulletin --month 2026-11 [--xlsx FILE]``: the month's bulletin (通报)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from kuaiban.core import clock
from kuaiban.core.errors import ValidationFailed
from kuaiban.supervision import bulletin


class Command(BaseCommand):
    help = (
        "Print the month's bulletin: overdue appeals, units with the most overdue items, "
        "returns and reworks, open supervision orders and a summary in Chinese."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--month", help="YYYY-MM (default: last month)")
        parser.add_argument("--xlsx", type=Path, help="also write the Excel workbook here")

    def handle(self, *args: Any, **options: Any) -> None:
        month = options["month"]
        if not month:
            today = timezone.localtime(clock.now()).date()
            last = today.replace(day=1) - dt.timedelta(days=1)
            month = f"{last:%Y-%m}"
        try:
            year, number = bulletin.parse_month(month)
        except ValidationFailed as exc:
            raise CommandError(f"--month {month!r}: {exc.message}") from None
        b = bulletin.build(year, number)
        self.stdout.write(bulletin.text(b))
        if options["xlsx"]:
            path: Path = options["xlsx"]
            path.write_bytes(bulletin.to_xlsx(b))
            self.stdout.write(f"\nworkbook: {path}")
