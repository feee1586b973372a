"""Writes of the routing domain: suggestions (recorded at registration), automatic dispatch,
the settings and the ledger's event hook. Training lives in ``training``, the training jobs in
``jobs``; both are re-exported here (``services.model_train`` ...) for the callers.

The machine-learning library itself (``text``, ``classifier``, ``grams``, ``hot``) is pure
Python; the similar-appeal lookup (``similar``) is the database's text search.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections import OrderedDict
from typing import Any

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.db.models import Case, Value, When
from django.utils.translation import gettext as _

from kuaiban.appeals import services as appeals
from kuaiban.appeals.models import (
    CONFIDENTIAL_KINDS,
    Action,
    Appeal,
    AppealEvent,
    Status,
)
from kuaiban.core import clock
from kuaiban.core.errors import DomainError, PermissionDenied, ValidationFailed
from kuaiban.org.models import Region, Role, Unit, User
from kuaiban.routing import runtime
from kuaiban.routing.classifier import appeal_text, unit_text
from kuaiban.routing.jobs import (
    JOB_STALE_AFTER,
    job_claim,
    job_enqueue,
    job_run,
    jobs_run,
    progress_key,
    retrain_after,
    retrain_if_due,
    worker_name,
)
from kuaiban.routing.models import (
    RoutingSettings,
    Suggestion,
    Target,
)
from kuaiban.routing.training import (
    LEDGER_LIMIT,
    MAX_FOLDS,
    MIN_CLASS_SAMPLES,
    _sha256,
    clean_folds,
    clean_target,
    ledger_samples,
    model_activate,
    model_train,
    read_labelled_csv,
    top_category_names,
    unit_ledger,
)

log = logging.getLogger(__name__)

__all__ = [
    "JOB_STALE_AFTER",
    "LEDGER_LIMIT",
    "MAX_FOLDS",
    "MIN_CLASS_SAMPLES",
    "_sha256",
    "auto_dispatch",
    "clean_folds",
    "clean_target",
    "clean_text",
    "job_claim",
    "job_enqueue",
    "job_run",
    "jobs_run",
    "ledger_samples",
    "model_activate",
    "model_train",
    "on_appeal_event",
    "progress_key",
    "read_labelled_csv",
    "reset_caches",
    "retrain_after",
    "retrain_if_due",
    "routing_settings",
    "settings_update",
    "suggest",
    "suggestion_record",
    "system_user",
    "top_category_names",
    "unit_ledger",
    "worker_name",
]

SYSTEM_USERNAME = "system"
SYSTEM_DISPLAY_NAME = "系统"
TOP_K = 3

Suggestions = dict[str, list[tuple[Any, ...]]]


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


# ----- settings and the system user ---------------------------------------------------------------


def routing_settings() -> RoutingSettings:
    found, _created = RoutingSettings.objects.get_or_create(pk=1)
    return found


@transaction.atomic
def settings_update(
    *,
    actor: User,
    auto_dispatch: bool,
    threshold: float,
    suggest_threshold: float | None = None,
) -> RoutingSettings:
    if not (actor.is_active and (actor.role == Role.ADMIN or actor.is_superuser)):
        raise PermissionDenied(_("Only an administrator may change automatic dispatch."))
    if not 0.5 <= threshold <= 1.0:
        raise ValidationFailed.one("threshold", _("Between 0.5 and 1."))
    if suggest_threshold is not None and not 0.0 <= suggest_threshold <= 1.0:
        raise ValidationFailed.one("suggest_threshold", _("Between 0 and 1."))
    row = RoutingSettings.objects.select_for_update().filter(pk=1).first() or RoutingSettings(pk=1)
    row.auto_dispatch = auto_dispatch
    row.threshold = threshold
    if suggest_threshold is not None:
        row.suggest_threshold = suggest_threshold
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


def suggest(
    text: str,
    *,
    k: int = TOP_K,
    category: str | None = None,
    region_id: int | None = None,
) -> Suggestions:
    """Top ``k`` categories ``(name, p)`` and lead units ``(code, name, p)`` for a text, from the
    active models (an empty list for a target without one). The lead-unit model also reads the
    first-level ``category`` name and the township of ``region_id`` when they are known."""
    text = clean_text(text)
    loaded = runtime.active_models.get()
    key = (
        text,
        k,
        category,
        region_id,
        *((t, m.pk, m.checksum) for t, m in sorted(loaded.items())),
    )
    cached = _suggestions.get(key)
    if cached is not None:
        return cached
    out: Suggestions = {"categories": [], "units": []}
    model = loaded.get(Target.CATEGORY)
    if model is not None:
        out["categories"] = [(name, p) for name, p in model.model.predict_top([text], k=k)[0]]
    unit = loaded.get(Target.UNIT)
    if unit is not None:
        township = runtime.regions.township(region_id)
        town = (
            Region.objects.filter(pk=township).values_list("name", flat=True).first()
            if township is not None
            else None
        )
        unit_input = unit_text(None, text, category=category, township=town)
        ranked = unit.model.predict_top([unit_input], k=len(unit.model.classes))[0]
        names = dict(
            Unit.objects.filter(code__in=[c for c, _p in ranked], active=True).values_list(
                "code", "name"
            )
        )
        out["units"] = [(code, names[code], p) for code, p in ranked if code in names][:k]
    _suggestions.put(key, out)
    return out


def suggestion_record(
    *,
    appeal_id: int,
    text: str,
    at: dt.datetime | None = None,
    category: str | None = None,
    region_id: int | None = None,
) -> Suggestion | None:
    """Store what the active models suggest for a new appeal (None: no active model)."""
    loaded = runtime.active_models.get()
    if not loaded:
        return None
    found = suggest(text, category=category, region_id=region_id)
    top = found["units"][0] if found["units"] else None
    top_unit = Unit.objects.filter(code=top[0]).first() if top else None
    category_model, unit = loaded.get(Target.CATEGORY), loaded.get(Target.UNIT)
    row, _created = Suggestion.objects.get_or_create(
        appeal_id=appeal_id,
        defaults={
            "created_at": at or clock.now(),
            "category_model_id": category_model.pk if category_model else None,
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
    category = top_category_names().get(appeal.category_id) if appeal.category_id else None
    suggestion = suggestion_record(
        appeal_id=appeal.pk,
        text=appeal_text(appeal.title, appeal.content),
        at=event.at,
        category=category,
        region_id=appeal.region_id,
    )
    if suggestion is not None:
        auto_dispatch(number=appeal.number or "", suggestion=suggestion)


def reset_caches() -> None:
    _suggestions.clear()
    runtime.reset()
