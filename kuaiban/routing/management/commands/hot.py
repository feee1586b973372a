"""``kuaiban hot --from --to``: the hot issues of a period, with growth against the one before."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from kuaiban.core.errors import DomainError
from kuaiban.org.models import Role, User
from kuaiban.routing import selectors


class Command(BaseCommand):
    help = (
        "Group a period's appeals into issues (the same problem reported again), biggest first, "
        "with key words, size, growth against the period of the same length before, regions, "
        "units and appeals. Dates are YYYY-MM-DD; the default is the last 7 days."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--from", dest="date_from", help="first day, YYYY-MM-DD")
        parser.add_argument("--to", dest="date_to", help="last day (inclusive), YYYY-MM-DD")
        parser.add_argument("--top", type=int, default=20, help="print the biggest N issues")
        parser.add_argument("--json", action="store_true", help="JSON instead of text")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            period = selectors.period_from(
                selectors.parse_day(options["date_from"], "from"),
                selectors.parse_day(options["date_to"], "to"),
            )
            # The command sees the whole ledger, as a supervisor does.
            report = selectors.hot_issues(user=_everyone(), period=period, appeals_shown=10)
        except DomainError as exc:
            raise CommandError(str(exc.message)) from None
        issues = report.issues[: options["top"]]
        if options["json"]:
            self.stdout.write(
                json.dumps(
                    {
                        "from": str(period.start),
                        "to": str(period.end),
                        "appeals": report.n_appeals,
                        "previous_appeals": report.n_previous,
                        "issues": [
                            {
                                "label": i.label,
                                "size": i.size,
                                "previous_size": i.previous_size,
                                "growth": i.growth,
                                "regions": {r.name: r.count for r in i.regions},
                                "units": {u.name: u.count for u in i.units},
                                "appeals": [a.number for a in i.appeals],
                            }
                            for i in issues
                        ],
                    },
                    ensure_ascii=False,
                    indent=2,
                )
            )
            return
        self.stdout.write(
            f"{period.start} to {period.end}: {report.n_appeals} appeals "
            f"({report.n_previous} in {report.previous.start} to {report.previous.end}), "
            f"{len(report.issues)} issues reported more than once"
        )
        for n, i in enumerate(issues, start=1):
            growth = "new" if i.growth is None else f"{i.growth:+.0%} (from {i.previous_size})"
            regions = "、".join(f"{r.name}{r.count}" for r in i.regions[:4]) or "—"
            units = "、".join(f"{u.name}{u.count}" for u in i.units[:4]) or "—"
            self.stdout.write(
                f"{n:>3}. {i.label}  ×{i.size}  {growth}\n"
                f"     regions: {regions}\n     units: {units}\n"
                f"     appeals: {' '.join(a.number or '' for a in i.appeals[:5])}"
            )


def _everyone() -> User:
    """An unsaved supervisor: sees every appeal, as the person at the console may."""
    return User(username="console", role=Role.SUPERVISOR, is_active=True)
