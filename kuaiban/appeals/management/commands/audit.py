from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from kuaiban.appeals import audit


class Command(BaseCommand):
    help = (
        "Audit the ledger. `kuaiban audit verify` checks every appeal's event hash chain, "
        "replays its events against the appeal row and recomputes the daily anchors; "
        "`kuaiban audit anchor` seals today's anchor over every chain head (the sweep does it "
        "once a day)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("what", choices=["verify", "anchor"])
        parser.add_argument("--all", action="store_true", help="list every problem, not the first")
        parser.add_argument(
            "--anchors",
            default=str(audit.ANCHORS_RECOMPUTED),
            help="how many of the latest anchors to recompute from the events, or 'all' "
            f"(default {audit.ANCHORS_RECOMPUTED}; the links of all anchors are checked anyway)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["what"] == "anchor":
            self._anchor()
            return
        raw = options["anchors"]
        if raw != "all" and not raw.isdigit():
            self.stderr.write("--anchors takes a whole number or 'all'")
            raise SystemExit(2)
        found = 0
        for problem in audit.verify(anchors=None if raw == "all" else int(raw)):
            found += 1
            if problem.anchor_day is not None:
                where = f"ledger anchor of {problem.anchor_day}"
            elif not problem.appeal_number:
                where = "ledger"
            elif problem.seq:
                where = (
                    f"appeal {problem.appeal_number}, event {problem.seq} (id {problem.event_id})"
                )
            else:
                where = f"appeal {problem.appeal_number}, chain head"
            self.stdout.write(f"TAMPERED: {where}: {problem.reason}")
            if not options["all"]:
                break
        if found:
            raise SystemExit(1)
        latest = audit.latest_anchor()
        tail = f" Latest anchor {latest.day}: {latest.digest}." if latest else " No anchor yet."
        self.stdout.write("OK: every appeal's event chain verifies and explains its row." + tail)

    def _anchor(self) -> None:
        anchor = audit.anchor_write()
        if anchor is None:
            latest = audit.latest_anchor()
            assert latest is not None
            self.stdout.write(f"Anchor of {latest.day} exists already: {latest.digest}")
            return
        self.stdout.write(
            f"Anchored {anchor.appeal_count} appeals on {anchor.day}: {anchor.digest}"
        )
