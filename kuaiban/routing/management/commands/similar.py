"""``kuaiban similar``: rebuild the similar-appeal index, or look up a text in it."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from kuaiban.appeals.models import Appeal
from kuaiban.routing import runtime


class Command(BaseCommand):
    help = (
        "--rebuild: index the last 90 days of the ledger into DATA_DIR/routing/similar.pickle "
        "(each web process reloads it and tops it up as appeals arrive). "
        "With a TEXT: print the most similar appeals."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("text", nargs="?", help="a text to look up")
        parser.add_argument("--rebuild", action="store_true")
        parser.add_argument("-k", type=int, default=10, help="how many to print")

    def handle(self, *args: Any, **options: Any) -> None:
        if not options["rebuild"] and not options["text"]:
            raise CommandError("Give --rebuild, or a text to look up.")
        if options["rebuild"]:
            started = time.perf_counter()
            index, watermark = runtime.build_index()
            path = runtime.save_index(index, watermark)
            runtime.similar_index.reset()
            self.stdout.write(
                f"Indexed {len(index)} appeals of the last {runtime.SIMILAR_DAYS} days "
                f"(up to id {watermark}) in {time.perf_counter() - started:.1f}s: {path} "
                f"({path.stat().st_size / 2**20:.1f} MiB)"
            )
        if options["text"]:
            text = options["text"].strip()
            if not text:
                raise CommandError("The text is empty.")
            index = runtime.similar_index.get()
            cutoff = runtime.cutoff_day()
            hits = index.query(
                text, k=options["k"], filter=lambda _k, meta: meta is not None and meta[0] >= cutoff
            )
            rows = Appeal.objects.in_bulk([pk for pk, _s in hits])
            for pk, score in hits:
                a = rows.get(pk)
                if a is not None:
                    title = (a.title or a.content)[:40]
                    self.stdout.write(f"{score:.3f}  {a.number}  {a.status:<11} {title}")
            if not hits:
                self.stdout.write("No similar appeal.")
