from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from kuaiban.appeals import audit


class Command(BaseCommand):
    help = "Audit the ledger: `kuaiban audit verify` checks every appeal's event hash chain."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("what", choices=["verify"])
        parser.add_argument("--all", action="store_true", help="list every broken chain")

    def handle(self, *args: Any, **options: Any) -> None:
        found = 0
        for problem in audit.verify():
            found += 1
            where = f"event {problem.seq} (id {problem.event_id})" if problem.seq else "chain head"
            self.stdout.write(
                f"TAMPERED: appeal {problem.appeal_number}, {where}: {problem.reason}"
            )
            if not options["all"]:
                break
        if found:
            raise SystemExit(1)
        self.stdout.write("OK: every appeal's event chain verifies.")
