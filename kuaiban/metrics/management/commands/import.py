"""``kuaiban import FILE [--skip-invalid] [--dry-run]``: bring in a historical ledger."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from kuaiban.core.errors import DomainError
from kuaiban.metrics import importer
from kuaiban.metrics.models import ImportBatch
from kuaiban.org.models import User


class Command(BaseCommand):
    help = (
        "Import a historical ledger from .xlsx or .csv. Every row is checked first and each "
        "invalid one reported; nothing is written unless all rows are valid or --skip-invalid "
        "is given. Rows imported before are skipped."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file")
        parser.add_argument("--dry-run", action="store_true", help="check and report only")
        parser.add_argument(
            "--skip-invalid", action="store_true", help="import the valid rows, skip the others"
        )
        parser.add_argument("--user", help="username recorded as the importer (default: system)")

    def handle(self, *args: Any, **options: Any) -> None:
        path = Path(options["file"])
        if not path.is_file():
            raise CommandError(f"No such file: {path}")
        actor = None
        if options["user"]:
            actor = User.objects.filter(username=options["user"]).first()
            if actor is None:
                raise CommandError(f"No user {options['user']!r}.")
        content = path.read_bytes()
        try:
            checked = importer.check(path.name, content)
        except DomainError as exc:
            raise CommandError(str(exc.message)) from None
        valid, invalid = checked.count("valid"), checked.count("invalid")
        dup = checked.count("duplicate")
        self.stdout.write(
            f"{path.name}: {len(checked.rows)} rows — {valid} valid, {invalid} invalid, "
            f"{dup} already imported."
        )
        for line in importer.describe(checked.rows):
            self.stdout.write(f"  {line}")
        if options["dry_run"]:
            self.stdout.write("Dry run: nothing written.")
            if invalid:
                raise CommandError(f"{invalid} invalid rows.")
            return
        if invalid and not options["skip_invalid"]:
            raise CommandError(
                f"{invalid} invalid rows: nothing written. Fix them, or use --skip-invalid."
            )
        try:
            with transaction.atomic():  # the batch and its appeals, or nothing
                result = self._write(path, content, checked, actor)
        except DomainError as exc:
            raise CommandError(str(exc.message)) from None
        self.stdout.write(
            f"Imported {result.imported} appeals; {result.duplicates} already there, "
            f"{result.invalid} invalid skipped."
        )

    def _write(
        self, path: Path, content: bytes, checked: importer.Checked, actor: User | None
    ) -> importer.Imported:
        batch = ImportBatch.objects.create(
            file_name=path.name[:200],
            sha256=hashlib.sha256(content).hexdigest(),
            content=content,
            created_by=actor,
        )
        importer.batch_counts(batch, checked)
        result = importer.write(checked, actor=actor, batch=batch, skip_invalid=True)
        batch.imported = result.imported
        batch.state = ImportBatch.State.IMPORTED
        batch.save()
        return result
