"""Writes of the routing domain: training and activating models, training jobs, suggestions
(recorded at registration), automatic dispatch and the ledger's event hook.

The machine-learning library itself (``text``, ``classifier``, ``similar``, ``hot``) is pure
Python; this module is where it meets the ledger.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import logging
import os
import secrets
import socket
import threading
import traceback
from collections import Counter, OrderedDict
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.db import IntegrityError, transaction
from django.db.models import Case, Q, Value, When
from django.utils import timezone
from django.utils.translation import gettext as _

from kuaiban.appeals import services as appeals
from kuaiban.appeals.models import (
    CONFIDENTIAL_KINDS,
    Action,
    Appeal,
    AppealEvent,
    Category,
    Status,
)
from kuaiban.core import clock
from kuaiban.core.errors import Conflict, DomainError, NotFound, PermissionDenied, ValidationFailed
from kuaiban.org.models import Role, Unit, User
from kuaiban.routing import runtime
from kuaiban.routing.classifier import appeal_text, cross_validate, train
from kuaiban.routing.models import (
    ModelVersion,
    RoutingSettings,
    Suggestion,
    Target,
    TrainingJob,
)

log = logging.getLogger(__name__)

SYSTEM_USERNAME = "system"
SYSTEM_DISPLAY_NAME = "系统"
MIN_CLASS_SAMPLES = 10
LEDGER_LIMIT = 100_000
MAX_FOLDS = 10
TOP_K = 3
JOB_STALE_AFTER = dt.timedelta(hours=6)

Suggestions = dict[str, list[tuple[Any, ...]]]


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


def clean_text(text: str | None, field: str = "text") -> str:
    value = (text or "").strip()
    if not value:
        raise ValidationFailed.one(field, _("This field is required."))
    limit = settings.KUAIBAN_CONTENT_MAX + appeals.TITLE_MAX + 1
    if len(value) > limit:
        raise ValidationFailed.one(
            field,
            _("At most %(limit)d characters (got %(n)d).") % {"limit": limit, "n": len(value)},
        )
    return value


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


def ledger_samples(*, target: str, limit: int = LEDGER_LIMIT) -> tuple[list[str], list[str]]:
    """The newest ``limit`` closed appeals as (text, label): the top-level category name, or the
    lead unit's code."""
    target = clean_target(target)
    closed = Appeal.objects.filter(status=Status.CLOSED).order_by("-closed_at", "-id")
    if target == Target.CATEGORY:
        names = top_category_names()
        by_category = closed.filter(category__isnull=False).values_list(
            "title", "content", "category_id"
        )
        pairs = [(appeal_text(t, c), names[cat]) for t, c, cat in by_category[:limit]]
    else:
        by_unit = closed.filter(lead_unit__isnull=False).values_list(
            "title", "content", "lead_unit__code"
        )
        pairs = [(appeal_text(t, c), code) for t, c, code in by_unit[:limit]]
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
) -> ModelVersion:
    """Cross-validate (unless ``cv_folds`` is 0), train on everything, save a new version file
    under ``DATA_DIR/models/`` and record it; activate it unless told not to."""
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
    cv = cross_validate(texts, labels, folds=cv_folds, seed=seed) if cv_folds else None
    model = train(texts, labels, seed=seed, cv=cv)
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


# ----- background training ------------------------------------------------------------------------


def job_enqueue(
    *, target: str, cv_folds: int = 5, activate: bool = True, actor: User | None = None
) -> TrainingJob:
    return TrainingJob.objects.create(
        target=clean_target(target),
        cv_folds=clean_folds(cv_folds),
        activate=activate,
        created_at=clock.now(),
        created_by=actor,
    )


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident() % 10000}"


def job_claim(*, worker: str) -> TrainingJob | None:
    """Take the oldest queued job (or one whose worker vanished long ago), or None.

    A conditional UPDATE decides between workers: only one sees its row count as 1.
    """
    now = clock.now()
    for _attempt in range(10):
        candidate = (
            TrainingJob.objects.filter(
                Q(status=TrainingJob.Status.QUEUED)
                | Q(status=TrainingJob.Status.RUNNING, started_at__lt=now - JOB_STALE_AFTER)
            )
            .order_by("created_at", "id")
            .values("pk", "status", "started_at")
            .first()
        )
        if candidate is None:
            return None
        won = TrainingJob.objects.filter(
            pk=candidate["pk"], status=candidate["status"], started_at=candidate["started_at"]
        ).update(status=TrainingJob.Status.RUNNING, started_at=now, worker=worker[:100])
        if won:
            return TrainingJob.objects.get(pk=candidate["pk"])
    return None


def _summary(row: ModelVersion) -> str:
    scores = (
        _("cross-validated macro-F1 %(f1).4f, accuracy %(acc).4f over %(k)d folds")
        % {"f1": row.cv_macro_f1, "acc": row.cv_accuracy, "k": row.cv_folds}
        if row.cv_macro_f1 is not None
        else _("not cross-validated")
    )
    return _("%(version)s: %(n)d samples, %(classes)d classes, %(scores)s%(active)s.") % {
        "version": row.version,
        "n": row.n_samples,
        "classes": len(row.classes),
        "scores": scores,
        "active": _(", active") if row.active else "",
    }


def job_run(job: TrainingJob) -> TrainingJob:
    """Train from the ledger as the job says; record done (with the version) or failed."""
    result: ModelVersion | None = None
    try:
        texts, labels = ledger_samples(target=job.target)
        result = model_train(
            target=job.target,
            texts=texts,
            labels=labels,
            source=_("ledger: %(n)d closed appeals") % {"n": len(texts)},
            cv_folds=job.cv_folds,
            activate=job.activate,
            actor=job.created_by,
        )
        status, output = TrainingJob.Status.DONE, _summary(result)
    except DomainError as exc:
        status, output = TrainingJob.Status.FAILED, str(exc.message)
    except Exception:
        log.exception("routing: training job %s failed", job.pk)
        status, output = TrainingJob.Status.FAILED, traceback.format_exc(limit=5)
    TrainingJob.objects.filter(pk=job.pk, worker=job.worker).update(
        status=status, finished_at=clock.now(), result=result, output=output
    )
    job.refresh_from_db()
    return job


def jobs_run(*, worker: str | None = None, limit: int | None = None) -> int:
    """Run queued jobs until none is left (or ``limit`` ran); returns how many ran."""
    name = worker or worker_name()
    done = 0
    while limit is None or done < limit:
        job = job_claim(worker=name)
        if job is None:
            break
        job_run(job)
        done += 1
    return done


# ----- settings and the system user ---------------------------------------------------------------


def routing_settings() -> RoutingSettings:
    found, _created = RoutingSettings.objects.get_or_create(pk=1)
    return found


@transaction.atomic
def settings_update(*, actor: User, auto_dispatch: bool, threshold: float) -> RoutingSettings:
    if not (actor.is_active and (actor.role == Role.ADMIN or actor.is_superuser)):
        raise PermissionDenied(_("Only an administrator may change automatic dispatch."))
    if not 0.5 <= threshold <= 1.0:
        raise ValidationFailed.one("threshold", _("Between 0.5 and 1."))
    row = RoutingSettings.objects.select_for_update().filter(pk=1).first() or RoutingSettings(pk=1)
    row.auto_dispatch = auto_dispatch
    row.threshold = threshold
    row.save()
    return row


def system_user() -> User:
    """The user who performs automatic dispatches (created by this app's data migration)."""
    found, _created = User.objects.get_or_create(
        username=SYSTEM_USERNAME,
        defaults={
            "role": Role.OPERATOR,
            "display_name": SYSTEM_DISPLAY_NAME,
            "password": make_password(None),
            "is_active": True,
        },
    )
    return found


# ----- suggestions --------------------------------------------------------------------------------


class _Cache:
    """A small thread-safe LRU of suggestions by (text, model versions)."""

    def __init__(self, size: int = 512) -> None:
        self.size = size
        self._data: OrderedDict[Any, Suggestions] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Any) -> Suggestions | None:
        with self._lock:
            found = self._data.get(key)
            if found is not None:
                self._data.move_to_end(key)
            return found

    def put(self, key: Any, value: Suggestions) -> None:
        with self._lock:
            self._data[key] = value
            self._data.move_to_end(key)
            while len(self._data) > self.size:
                self._data.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._data.clear()


_suggestions = _Cache()


def active_versions() -> dict[str, str | None]:
    loaded = runtime.active_models.get()
    return {t: (loaded[t].version if t in loaded else None) for t in Target.values}


def suggest(text: str, *, k: int = TOP_K) -> Suggestions:
    """Top ``k`` categories ``(name, p)`` and lead units ``(code, name, p)`` for a text, from the
    active models (an empty list for a target without one)."""
    text = clean_text(text)
    loaded = runtime.active_models.get()
    key = (text, k, *((t, m.pk, m.checksum) for t, m in sorted(loaded.items())))
    cached = _suggestions.get(key)
    if cached is not None:
        return cached
    out: Suggestions = {"categories": [], "units": []}
    category = loaded.get(Target.CATEGORY)
    if category is not None:
        out["categories"] = [(name, p) for name, p in category.model.predict_top([text], k=k)[0]]
    unit = loaded.get(Target.UNIT)
    if unit is not None:
        ranked = unit.model.predict_top([text], k=len(unit.model.classes))[0]
        names = dict(
            Unit.objects.filter(code__in=[c for c, _p in ranked], active=True).values_list(
                "code", "name"
            )
        )
        out["units"] = [(code, names[code], p) for code, p in ranked if code in names][:k]
    _suggestions.put(key, out)
    return out


def suggestion_record(
    *, appeal_id: int, text: str, at: dt.datetime | None = None
) -> Suggestion | None:
    """Store what the active models suggest for a new appeal (None: no active model)."""
    loaded = runtime.active_models.get()
    if not loaded:
        return None
    found = suggest(text)
    top = found["units"][0] if found["units"] else None
    top_unit = Unit.objects.filter(code=top[0]).first() if top else None
    category, unit = loaded.get(Target.CATEGORY), loaded.get(Target.UNIT)
    row, _created = Suggestion.objects.get_or_create(
        appeal_id=appeal_id,
        defaults={
            "created_at": at or clock.now(),
            "category_model_id": category.pk if category else None,
            "unit_model_id": unit.pk if unit else None,
            "categories": [list(c) for c in found["categories"]],
            "units": [list(u) for u in found["units"]],
            "top_unit": top_unit,
            "top_probability": top[2] if top else None,
        },
    )
    return row


def auto_dispatch(*, number: str, suggestion: Suggestion) -> Appeal | None:
    """Dispatch a new appeal to its suggested unit if the administrator turned this on and the
    model is confident enough. The event is the system user's, with ``auto: true``."""
    config = RoutingSettings.objects.filter(pk=1).first()
    if config is None or not config.auto_dispatch:
        return None
    p = suggestion.top_probability
    if suggestion.top_unit is None or p is None or p < config.threshold:
        return None
    state = Appeal.objects.filter(number=number).values("status", "kind").first()
    if state is None or state["status"] != Status.RECEIVED or state["kind"] in CONFIDENTIAL_KINDS:
        return None
    version = suggestion.unit_model.version if suggestion.unit_model else ""
    try:
        return appeals.appeal_dispatch(
            actor=system_user(),
            number=number,
            unit=suggestion.top_unit.code,
            note=_("Dispatched automatically: the suggestion had probability %(p).0f%%.")
            % {"p": p * 100},
            extra_payload={"auto": True, "probability": p, "model": version},
        )
    except DomainError as exc:  # e.g. dispatched by a person meanwhile
        log.info("routing: no automatic dispatch of %s: %s", number, exc.message)
        return None


def _note_dispatch(appeal_id: int, payload: dict[str, Any], at: dt.datetime) -> None:
    found = Suggestion.objects.filter(appeal_id=appeal_id).values("pk").first()
    if found is None:
        return
    unit_id = Unit.objects.filter(code=payload.get("unit")).values_list("pk", flat=True).first()
    if unit_id is None:
        return
    rows = Suggestion.objects.filter(pk=found["pk"])
    if payload.get("auto"):
        rows.filter(auto_at__isnull=True).update(auto_unit_id=unit_id, auto_at=at)
        return
    rows.filter(dispatched_at__isnull=True).update(
        dispatched_unit_id=unit_id,
        dispatched_at=at,
        overridden=Case(
            When(top_unit__isnull=True, then=Value(None)),
            When(top_unit_id=unit_id, then=Value(False)),
            default=Value(True),
        ),
    )


def on_appeal_event(appeal: Appeal, event: AppealEvent) -> None:
    """The ledger's after-commit hook: suggest on registration, note dispatches. (The appeal is
    already findable by the similar-appeal lookup: a trigger wrote its search row at commit.)

    Every other event (claims, replies, the sweep's alerts ...) returns at once, without a query.
    """
    if event.action == Action.DISPATCH:
        _note_dispatch(appeal.pk, event.payload or {}, event.at)
        return
    if event.action != Action.REGISTER:
        return
    suggestion = suggestion_record(
        appeal_id=appeal.pk, text=appeal_text(appeal.title, appeal.content), at=event.at
    )
    if suggestion is not None:
        auto_dispatch(number=appeal.number or "", suggestion=suggestion)


def reset_caches() -> None:
    _suggestions.clear()
    runtime.reset()
