"""``kuaiban train``: train, list and activate the routing models."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from kuaiban.core.errors import DomainError
from kuaiban.routing import services
from kuaiban.routing.models import ModelVersion, Target


class Command(BaseCommand):
    help = (
        "Train the category classifier from the ledger's closed appeals and the lead-unit one "
        "from the appeals replied to, labelled with the unit that kept them (or one "
        "of them from a labelled CSV file with --file), cross-validate, save a new version under "
        "DATA_DIR/models/ and activate it. --activate VERSION switches back; --list shows them."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--target",
            help="category, unit or all (default: all from the ledger; category with --file)",
        )
        parser.add_argument("--file", help="a labelled UTF-8 CSV file instead of the ledger")
        parser.add_argument("--text-col", default="text", help="text column of --file")
        parser.add_argument("--label-col", default="label", help="label column of --file")
        parser.add_argument("--cv", type=int, default=5, help="cross-validation folds (0: none)")
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument(
            "--limit",
            type=int,
            default=services.LEDGER_LIMIT,
            help="at most this many of the newest closed (lead unit: replied-to) appeals",
        )
        parser.add_argument(
            "--min-class",
            type=int,
            default=services.MIN_CLASS_SAMPLES,
            help="leave out classes with fewer examples",
        )
        parser.add_argument(
            "--keep-active", action="store_true", help="record the new version, don't activate it"
        )
        parser.add_argument("--activate", metavar="VERSION", help="make VERSION active, then stop")
        parser.add_argument("--list", action="store_true", help="list the versions, then stop")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            if options["list"]:
                self._list()
            elif options["activate"]:
                row = services.model_activate(version=options["activate"])
                self.stdout.write(f"Active {row.target} model: {row.version}")
            else:
                self._train(options)
        except DomainError as exc:
            raise CommandError(str(exc.message)) from None

    def _targets(self, options: dict[str, Any]) -> list[str]:
        target = options["target"]
        if options["file"]:
            return [services.clean_target(target or Target.CATEGORY)]
        if target in (None, "all"):
            return list(Target.values)
        return [services.clean_target(target)]

    def _train(self, options: dict[str, Any]) -> None:
        services.clean_folds(options["cv"])
        targets = self._targets(options)
        for target in targets:
            if options["file"]:
                texts, labels = services.read_labelled_csv(
                    options["file"], text_col=options["text_col"], label_col=options["label_col"]
                )
                source = f"file: {options['file']}"
            else:
                texts, labels = services.ledger_samples(target=target, limit=options["limit"])
                kind = "finished" if target == "unit" else "closed"
                source = f"ledger: {len(texts)} {kind} appeals"
            self.stdout.write(f"Training the {target} model on {len(texts)} samples ({source}) …")
            row = services.model_train(
                target=target,
                texts=texts,
                labels=labels,
                source=source,
                cv_folds=options["cv"],
                seed=options["seed"],
                activate=not options["keep_active"],
                min_class_samples=options["min_class"],
            )
            self._describe(row)

    def _describe(self, row: ModelVersion) -> None:
        dropped = row.scores.get("dropped_classes") or {}
        lines = [
            f"version: {row.version}{'  (active)' if row.active else ''}",
            f"file: {row.path} ({row.size / 1024:.0f} KiB), trained in {row.train_seconds:.1f}s",
            f"samples: {row.n_samples}, classes: {len(row.classes)}",
        ]
        if dropped:
            lines.append(
                "left out (too few examples): "
                + ", ".join(f"{label} ({n})" for label, n in dropped.items())
            )
        if row.cv_macro_f1 is not None:
            lines.append(
                f"{row.cv_folds}-fold CV: accuracy {row.cv_accuracy:.4f}, "
                f"macro-F1 {row.cv_macro_f1:.4f}"
            )
        self.stdout.write("\n".join(lines))

    def _list(self) -> None:
        rows = list(ModelVersion.objects.order_by("target", "-trained_at", "-id"))
        if not rows:
            self.stdout.write("No model versions yet: run kuaiban train.")
            return
        for row in rows:
            f1 = f"{row.cv_macro_f1:.4f}" if row.cv_macro_f1 is not None else "—"
            self.stdout.write(
                f"{'*' if row.active else ' '} {row.version:<36} "
                f"{timezone.localtime(row.trained_at):%Y-%m-%d %H:%M}  "
                f"n={row.n_samples:<7} macro-F1={f1:<7} {row.size / 1024:>7.0f} KiB  {row.source}"
            )
