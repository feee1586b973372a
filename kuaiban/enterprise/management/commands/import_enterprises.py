"""``kuaiban import_enterprises FILE.xlsx``: load the enterprise registry from Excel.

Every row is checked and every invalid one reported with its row number and why. Nothing is
written unless all rows are valid, or ``--skip-invalid`` is given; ``--dry-run`` writes nothing.
The credit code is the key: importing the same file again creates no duplicates.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from kuaiban.core.errors import DomainError
from kuaiban.enterprise import services
from kuaiban.org.models import User


class Command(BaseCommand):
    help = "Import enterprises from an Excel workbook (dry-run and report of invalid rows)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path)
        parser.add_argument("--dry-run", action="store_true", help="check and report only")
        parser.add_argument(
            "--skip-invalid", action="store_true", help="write the valid rows, skip the invalid"
        )
        parser.add_argument(
            "--user", default="admin", help="who imports (an operator, supervisor or admin)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["file"]
        if not path.is_file():
            raise CommandError(_("No such file: %(path)s") % {"path": path})
        actor = User.objects.filter(username=options["user"], is_active=True).first()
        if actor is None:
            raise CommandError(
                _("No active user %(name)r (use --user).") % {"name": options["user"]}
            )
        try:
            rows = services.read_workbook(path)
            report = services.enterprise_import(
                actor=actor,
                rows=rows,
                dry_run=options["dry_run"],
                skip_invalid=options["skip_invalid"],
            )
        except DomainError as exc:
            raise CommandError(str(exc.message)) from None
        for row in report.invalid:
            reasons = "; ".join(f"{column}: {message}" for _field, column, message in row.reasons)
            self.stdout.write(
                _("row %(row)d (%(code)s %(name)s): %(reasons)s")
                % {
                    "row": row.row,
                    "code": row.credit_code or "—",
                    "name": row.name,
                    "reasons": reasons,
                }
            )
        summary = _(
            "%(total)d rows: %(create)d new, %(update)d updated, %(same)d unchanged, "
            "%(invalid)d invalid."
        ) % {
            "total": len(report.rows),
            "create": report.n_create,
            "update": report.n_update,
            "same": report.n_unchanged,
            "invalid": len(report.invalid),
        }
        if report.written:
            self.stdout.write(self.style.SUCCESS(_("Imported. %(summary)s") % {"summary": summary}))
        elif report.dry_run:
            self.stdout.write(_("Dry run, nothing written. %(summary)s") % {"summary": summary})
        else:
            raise CommandError(
                _(
                    "Nothing written: %(summary)s Fix the invalid rows, or run with "
                    "--skip-invalid to import the valid rows only."
                )
                % {"summary": summary}
            )
