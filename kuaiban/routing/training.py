"""Training and activating the routing models: the labelled input (a CSV file or the ledger's
closed appeals), cross-validation, the saved version file and its ``ModelVersion`` row."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import logging
import secrets
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from kuaiban.appeals.models import (
    Appeal,
    Category,
    Status,
)
from kuaiban.core import clock
from kuaiban.core.errors import Conflict, NotFound, ValidationFailed
from kuaiban.org.models import Region, User
from kuaiban.routing import runtime
from kuaiban.routing.classifier import appeal_text, train, unit_text
from kuaiban.routing.evaluation import cross_validate
from kuaiban.routing.models import (
    ModelVersion,
    Target,
)

log = logging.getLogger(__name__)

MIN_CLASS_SAMPLES = 10
LEDGER_LIMIT = 100_000
MAX_FOLDS = 10


# ----- input --------------------------------------------------------------------------------------


def clean_target(target: str | None) -> str:
    if target not in Target.values:
        raise ValidationFailed.one(
            "target",
            _("Unknown target %(value)r; one of: %(allowed)s.")
            % {"value": target, "allowed": ", ".join(Target.values)},
        )
    return str(target)


def clean_folds(folds: int) -> int:
    if folds == 0 or 2 <= folds <= MAX_FOLDS:
        return folds
    raise ValidationFailed.one(
        "cv", _("Cross-validation needs 2 to %(max)d folds (0: none).") % {"max": MAX_FOLDS}
    )


def read_labelled_csv(
    path: str | Path, *, text_col: str = "text", label_col: str = "label"
) -> tuple[list[str], list[str]]:
    """Texts and labels of a UTF-8 CSV file; rows with an empty text or label are skipped."""
    file = Path(path)
    if not file.is_file():
        raise ValidationFailed.one("file", _("No such file: %(path)s") % {"path": path})
    texts: list[str] = []
    labels: list[str] = []
    try:
        with file.open(encoding="utf-8-sig", newline="") as fh:
            reader = csv.DictReader(fh)
            columns = reader.fieldnames or []
            missing = [c for c in (text_col, label_col) if c not in columns]
            if missing:
                raise ValidationFailed.one(
                    "file",
                    _("%(path)s has no column %(missing)s; its columns are: %(columns)s.")
                    % {
                        "path": path,
                        "missing": ", ".join(repr(m) for m in missing),
                        "columns": ", ".join(columns) or "—",
                    },
                )
            for row in reader:
                text = (row.get(text_col) or "").strip()
                label = (row.get(label_col) or "").strip()
                if text and label:
                    texts.append(text)
                    labels.append(label)
    except UnicodeDecodeError:
        raise ValidationFailed.one(
            "file", _("%(path)s is not a UTF-8 CSV file.") % {"path": path}
        ) from None
    except csv.Error as exc:
        raise ValidationFailed.one(
            "file", _("%(path)s: bad CSV (%(error)s).") % {"path": path, "error": exc}
        ) from None
    if not texts:
        raise ValidationFailed.one("file", _("%(path)s holds no labelled rows.") % {"path": path})
    return texts, labels


def top_category_names() -> dict[int, str]:
    """Category id → name of its first-level ancestor."""
    rows = {
        pk: (parent, name)
        for pk, parent, name in Category.objects.values_list("pk", "parent_id", "name")
    }
    out: dict[int, str] = {}
    for pk in rows:
        node = pk
        for _depth in range(10):
            parent = rows[node][0]
            if parent is None:
                break
            node = parent
        out[pk] = rows[node][1]
    return out


@dataclass(frozen=True)
class UnitSample:
    """One finished appeal for the lead-unit model: its input text, the unit that kept it, and
    when it was received (for a time split)."""

    text: str
    unit: str
    received_at: dt.datetime


# Appeals whose lead unit is final: replied to (or further on), not merged or marked invalid.
# A return clears the lead and a re-dispatch sets the next one, so the lead of such an appeal
# is the unit that kept it, never one that returned it (or lost it at arbitration).
FINISHED = (Status.REPLIED, Status.VISITED, Status.CLOSED)


def unit_ledger(*, limit: int = LEDGER_LIMIT, context: bool = True) -> list[UnitSample]:
    """The newest ``limit`` finished appeals with their final lead unit, oldest first; the text
    is ``unit_text`` (first-level category and township in front of title and content; without
    ``context``, title and content only: the baseline of the evaluation)."""
    names = top_category_names()
    rows = (
        Appeal.objects.filter(status__in=FINISHED, lead_unit__isnull=False)
        .order_by("-received_at", "-id")
        .values_list(
            "title", "content", "category_id", "region_id", "lead_unit__code", "received_at"
        )
    )[:limit]
    towns = dict(Region.objects.values_list("pk", "name"))
    out = [
        UnitSample(
            unit_text(
                title,
                content,
                category=names.get(category) if category and context else None,
                township=towns.get(runtime.regions.township(region) or 0) if context else None,
            ),
            code,
            at,
        )
        for title, content, category, region, code, at in rows
    ]
    out.reverse()
    return out


def ledger_samples(*, target: str, limit: int = LEDGER_LIMIT) -> tuple[list[str], list[str]]:
    """Labelled texts from the ledger. Category: the newest ``limit`` closed appeals and the name
    of their first-level category. Lead unit: ``unit_ledger`` (the unit that finally handled
    each finished appeal, with category and township as context)."""
    target = clean_target(target)
    if target == Target.UNIT:
        samples = unit_ledger(limit=limit)
        return [s.text for s in samples], [s.unit for s in samples]
    closed = Appeal.objects.filter(status=Status.CLOSED).order_by("-closed_at", "-id")
    names = top_category_names()
    by_category = closed.filter(category__isnull=False).values_list(
        "title", "content", "category_id"
    )
    pairs = [(appeal_text(t, c), names[cat]) for t, c, cat in by_category[:limit]]
    return [p[0] for p in pairs], [p[1] for p in pairs]


# ----- training and activation --------------------------------------------------------------------


def _drop_rare(
    texts: list[str], labels: list[str], minimum: int
) -> tuple[list[str], list[str], dict[str, int]]:
    counts = Counter(labels)
    rare = {label: n for label, n in counts.items() if n < minimum}
    if not rare:
        return texts, labels, {}
    kept = [(t, lab) for t, lab in zip(texts, labels, strict=True) if lab not in rare]
    return [t for t, _l in kept], [lab for _t, lab in kept], dict(sorted(rare.items()))


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def model_train(
    *,
    target: str,
    texts: list[str],
    labels: list[str],
    source: str,
    cv_folds: int = 5,
    seed: int = 0,
    activate: bool = True,
    actor: User | None = None,
    min_class_samples: int = MIN_CLASS_SAMPLES,
    progress: Callable[[int, int], None] | None = None,
) -> ModelVersion:
    """Cross-validate (unless ``cv_folds`` is 0), train on everything, save a new version file
    under ``DATA_DIR/models/`` and record it; activate it unless told not to.

    ``progress(done, total)`` hears of each step: every fold, the final fit, the saved version.
    """
    target = clean_target(target)
    cv_folds = clean_folds(cv_folds)
    if len(texts) != len(labels):
        raise ValidationFailed.one("label", _("Texts and labels differ in number."))
    texts, labels, dropped = _drop_rare(texts, labels, max(min_class_samples, cv_folds, 2))
    if len(set(labels)) < 2:
        raise ValidationFailed.one(
            "label",
            _(
                "Training needs at least two classes with %(n)d examples each; "
                "found %(found)d class(es) with enough."
            )
            % {"n": max(min_class_samples, cv_folds, 2), "found": len(set(labels))},
        )
    steps = cv_folds + 2

    def step(done: int) -> None:
        if progress is not None:
            progress(done, steps)

    step(0)
    cv = (
        cross_validate(texts, labels, folds=cv_folds, seed=seed, on_fold=step) if cv_folds else None
    )
    model = train(texts, labels, seed=seed, cv=cv)
    step(cv_folds + 1)
    model.metadata.update({"target": target, "source": source, "dropped_classes": dropped})
    now = clock.now()
    version = f"{target}-{timezone.localtime(now):%Y%m%d-%H%M%S}-{secrets.token_hex(3)}"
    folder = runtime.models_dir()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{version}.joblib"
    model.save(path)
    scores: dict[str, Any] = {}
    if cv is not None:
        scores = {k: v for k, v in cv.items() if k != "n_samples"}
    try:
        with transaction.atomic():
            row = ModelVersion.objects.create(
                version=version,
                target=target,
                path=path.name,
                checksum=_sha256(path),
                trained_at=now,
                train_seconds=float(model.metadata.get("train_seconds") or 0),
                size=path.stat().st_size,
                n_samples=len(texts),
                classes=model.classes,
                source=source[:300],
                cv_folds=cv_folds or None,
                cv_accuracy=cv["accuracy"] if cv else None,
                cv_macro_f1=cv["macro_f1"] if cv else None,
                scores={**scores, "dropped_classes": dropped},
                created_by=actor,
            )
            if activate:
                _activate(row)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    step(steps)
    return row


def _activate(row: ModelVersion) -> None:
    # Lock the target's rows so two activations queue instead of colliding on the constraint.
    list(ModelVersion.objects.select_for_update().filter(target=row.target).values_list("pk"))
    ModelVersion.objects.filter(target=row.target, active=True).exclude(pk=row.pk).update(
        active=False
    )
    row.active = True
    row.activated_at = clock.now()
    row.save(update_fields=["active", "activated_at"])
    transaction.on_commit(runtime.active_models.invalidate)


@transaction.atomic
def model_activate(*, version: str) -> ModelVersion:
    """Make ``version`` the active model of its target (switching back is the same call)."""
    row = ModelVersion.objects.select_for_update().filter(version=(version or "").strip()).first()
    if row is None:
        raise NotFound(_("No model version %(version)s.") % {"version": version})
    if not (runtime.models_dir() / row.path).is_file():
        raise Conflict(
            _("The file of model %(version)s is missing from %(dir)s.")
            % {"version": row.version, "dir": runtime.models_dir()},
            code="model_missing",
        )
    try:
        with transaction.atomic():
            _activate(row)
    except IntegrityError:
        raise Conflict(
            _("Another activation of a %(target)s model happened at the same time; try again.")
            % {"target": row.get_target_display()}
        ) from None
    return row
