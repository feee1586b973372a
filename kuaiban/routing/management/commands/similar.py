"""``kuaiban similar``: look up a text among the appeals of the last 90 days, or refresh the
database's statistics of the similar-appeal search (``--analyze``, after a bulk load)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from kuaiban.appeals.models import Appeal
from kuaiban.routing import similar


class Command(BaseCommand):
    help = (
        "With a TEXT: print the most similar appeals of the last 90 days (no role filter: an "
        "administrator's tool). --analyze: refresh PostgreSQL's bigram statistics now "
        "(autovacuum does it as appeals arrive). Nothing needs rebuilding: new appeals are "
        "searchable the moment they are registered."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("text", nargs="?", help="a text to look up")
        parser.add_argument("--analyze", action="store_true")
        parser.add_argument("-k", type=int, default=10, help="how many to print")

    def handle(self, *args: Any, **options: Any) -> None:
        if not options["analyze"] and options["text"] is None:
            raise CommandError("Give a text to look up, or --analyze.")
        if options["analyze"]:
            if similar.analyze():
                self.stdout.write("Statistics of the similar-appeal search refreshed.")
            else:
                self.stdout.write("Nothing to analyze on this database (it scans recent appeals).")
        if options["text"] is not None:
            text = options["text"].strip()
            if not text:
                raise CommandError("The text is empty.")
            hits = similar.search(text, limit=max(1, options["k"]))
            rows = Appeal.objects.in_bulk([pk for pk, _s in hits])
            for pk, score in hits:
                a = rows.get(pk)
                if a is not None:
                    title = (a.title or a.content)[:40]
                    self.stdout.write(f"{score:.3f}  {a.number}  {a.status:<11} {title}")
            if not hits:
                self.stdout.write("No similar appeal.")
