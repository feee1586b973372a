"""``kuaiban evaluate``: accuracy, macro-F1 and a per-class table, seeded and repeatable."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from kuaiban.core.errors import DomainError
from kuaiban.routing import runtime, services
from kuaiban.routing.classifier import TextClassifier, train
from kuaiban.routing.evaluation import (
    cross_validate,
    evaluate,
    format_report,
    format_time_split,
    time_split,
)
from kuaiban.routing.models import ModelVersion


class Command(BaseCommand):
    help = (
        "Evaluate a classifier on a labelled CSV file: a saved model (--model PATH or VERSION), "
        "one trained on another file (--train-file), or k-fold cross-validation of the file itself "
        "(--cv, the default). Ends with the line 'macro-F1: 0.xxxx'."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--file", help="labelled UTF-8 CSV file to score on")
        parser.add_argument(
            "--units",
            action="store_true",
            help="the lead-unit model on the ledger's finished appeals (needs --time-split)",
        )
        parser.add_argument(
            "--time-split",
            action="store_true",
            help="with --units: train on the older appeals, report accuracy@1 and @3 on the newer",
        )
        parser.add_argument(
            "--test-share", type=float, default=0.2, help="with --time-split: newest share tested"
        )
        parser.add_argument(
            "--text-only",
            action="store_true",
            help="with --units: without the category and township in front (the baseline)",
        )
        parser.add_argument("--text-col", default="text")
        parser.add_argument("--label-col", default="label")
        source = parser.add_mutually_exclusive_group()
        source.add_argument("--model", help="a model file, or a version name from kuaiban train")
        source.add_argument("--train-file", help="train on this CSV (same columns), then score")
        parser.add_argument(
            "--cv", type=int, default=None, help="k-fold cross-validation of --file (default 5)"
        )
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument(
            "--perturb",
            type=float,
            default=0.0,
            help="with --cv: share of tokens followed by an inserted function word (raw-like)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            report = self._report(options)
        except DomainError as exc:
            raise CommandError(str(exc.message)) from None
        self.stdout.write(report)

    def _report(self, options: dict[str, Any]) -> str:
        if options["units"] or options["time_split"]:
            return self._units(options)
        if not options["file"]:
            raise CommandError("--file is required (or --units --time-split).")
        if options["cv"] is not None and (options["model"] or options["train_file"]):
            raise CommandError(
                "--cv cross-validates --file; it does not go with --model or --train-file."
            )
        texts, labels = services.read_labelled_csv(
            options["file"], text_col=options["text_col"], label_col=options["label_col"]
        )
        if options["model"]:
            result = evaluate(self._load(options["model"]), texts, labels)
            header = f"model: {options['model']}\n"
        elif options["train_file"]:
            train_texts, train_labels = services.read_labelled_csv(
                options["train_file"], text_col=options["text_col"], label_col=options["label_col"]
            )
            model = train(train_texts, train_labels, seed=options["seed"])
            result = evaluate(model, texts, labels)
            header = f"trained on {options['train_file']} ({len(train_texts)} samples)\n"
        else:
            folds = services.clean_folds(5 if options["cv"] is None else options["cv"])
            if folds < 2:
                raise CommandError("--cv needs at least 2 folds.")
            smallest = min(labels.count(label) for label in set(labels))
            if len(set(labels)) < 2 or smallest < folds:
                raise CommandError(
                    f"{folds}-fold cross-validation needs at least two classes with {folds} "
                    f"examples each (the smallest class has {smallest})."
                )
            result = cross_validate(
                texts, labels, folds=folds, seed=options["seed"], perturb=options["perturb"]
            )
            header = ""
        return header + format_report(result)

    def _units(self, options: dict[str, Any]) -> str:
        if not (options["units"] and options["time_split"]) or options["file"]:
            raise CommandError("--units goes with --time-split (and no --file, --model or --cv).")
        share = options["test_share"]
        if not 0.05 <= share <= 0.5:
            raise CommandError("--test-share must be between 0.05 and 0.5.")
        samples = services.unit_ledger(context=not options["text_only"])
        try:
            result = time_split(
                [s.text for s in samples],
                [s.unit for s in samples],
                [s.received_at for s in samples],
                test_share=share,
                seed=options["seed"],
                min_class_samples=services.MIN_CLASS_SAMPLES,
            )
        except ValueError as exc:
            raise CommandError(f"{exc} ({len(samples)} finished appeals in the ledger).") from None
        what = "text only" if options["text_only"] else "text, category and township"
        head = f"lead unit, time split of {len(samples)} finished appeals ({what})\n"
        return head + format_time_split(result)

    def _load(self, name: str) -> TextClassifier:
        path = Path(name)
        if not path.is_file():
            row = ModelVersion.objects.filter(version=name).first()
            if row is None:
                raise CommandError(f"No model file or version {name!r}.")
            path = runtime.models_dir() / row.path
        try:
            return TextClassifier.load(path)
        except Exception as exc:  # whatever the file held, say so instead of a traceback
            raise CommandError(f"Cannot load a model from {path}: {exc}") from None
