"""Administration of routing: model versions (switch the active one), background training jobs,
the automatic-dispatch setting, and the suggestions recorded at registration."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy as _

from kuaiban.core import clock, jobs
from kuaiban.core.errors import DomainError
from kuaiban.routing import services
from kuaiban.routing.models import ModelVersion, RoutingSettings, Suggestion, TrainingJob


@admin.register(ModelVersion)
class ModelVersionAdmin(admin.ModelAdmin):
    list_display = (
        "version",
        "target",
        "active",
        "trained_at",
        "n_samples",
        "cv_macro_f1",
        "cv_accuracy",
        "size",
        "source",
    )
    list_filter = ("target", "active")
    search_fields = ("version", "source")
    actions = ("activate", "train_again")
    readonly_fields = [f.name for f in ModelVersion._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # versions come from training (kuaiban train, or a training job)

    @admin.action(description=_("Make the selected version active (one per target)"))
    def activate(self, request: HttpRequest, queryset: QuerySet[ModelVersion]) -> None:
        rows = list(queryset)
        if len({r.target for r in rows}) != len(rows):
            self.message_user(
                request, _("Choose at most one version of each target."), messages.ERROR
            )
            return
        for row in rows:
            try:
                services.model_activate(version=row.version)
            except DomainError as exc:
                self.message_user(request, str(exc.message), messages.ERROR)
            else:
                self.message_user(
                    request, _("Version %(version)s is active.") % {"version": row.version}
                )

    @admin.action(description=_("Train this target again from the ledger (in the background)"))
    def train_again(self, request: HttpRequest, queryset: QuerySet[ModelVersion]) -> None:
        targets = sorted({r.target for r in queryset})
        for target in targets:
            services.job_enqueue(target=target, actor=request.user)  # type: ignore[arg-type]
        self.message_user(request, _QUEUED % {"n": len(targets)})


_QUEUED = _(
    "%(n)d training job(s) queued; a worker (kuaiban routing_worker --loop) runs them, "
    "and the new versions appear here."
)


@admin.register(TrainingJob)
class TrainingJobAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "target",
        "status",
        "progress",
        "created_at",
        "started_at",
        "finished_at",
        "result",
    )
    list_filter = ("status", "target")
    fields = (
        "target",
        "cv_folds",
        "activate",
        "status",
        "progress",
        "created_at",
        "created_by",
        "started_at",
        "finished_at",
        "worker",
        "result",
        "output",
    )
    actions = ("requeue",)

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return [f for f in self.fields if obj is not None or f != "progress"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        editable = {"target", "cv_folds", "activate"} if obj is None else set()
        return [f for f in self.fields if f not in editable]

    @admin.display(description=_("progress"))
    def progress(self, obj: TrainingJob) -> SafeString | str:
        """A bar while the job waits or runs (read from the worker's reports on every load of
        the page), nothing once it has ended: its output and version say how it went."""
        if obj.status == TrainingJob.Status.QUEUED:
            return format_html(
                '<progress data-testid="training-progress"></progress> {}',
                _("Waiting for a worker (kuaiban routing_worker --loop)…"),
            )
        if obj.status != TrainingJob.Status.RUNNING:
            return "—"
        found = jobs.progress(services.progress_key(obj))
        if found is None or not found.total:
            return format_html(
                '<progress data-testid="training-progress"></progress> {}',
                _("Reading the ledger…"),
            )
        return format_html(
            '<progress data-testid="training-progress" max="100" value="{}">{}%</progress> {}',
            found.percent,
            found.percent,
            _("%(p)d%% (%(done)d of %(total)d steps); reload the page to follow it.")
            % {"p": found.percent, "done": found.done, "total": found.total},
        )

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return obj is None and super().has_change_permission(request, obj)

    def save_model(self, request: HttpRequest, obj: TrainingJob, form: Any, change: bool) -> None:
        if change:
            return
        obj.created_at = clock.now()
        obj.created_by = request.user  # type: ignore[assignment]
        obj.status = TrainingJob.Status.QUEUED
        super().save_model(request, obj, form, change)
        self.message_user(request, _QUEUED % {"n": 1})

    @admin.action(description=_("Queue the selected failed jobs again"))
    def requeue(self, request: HttpRequest, queryset: QuerySet[TrainingJob]) -> None:
        n = queryset.filter(status=TrainingJob.Status.FAILED).update(
            status=TrainingJob.Status.QUEUED, started_at=None, finished_at=None, worker=""
        )
        self.message_user(request, _QUEUED % {"n": n})


@admin.register(RoutingSettings)
class RoutingSettingsAdmin(admin.ModelAdmin):
    list_display = ("__str__", "auto_dispatch", "threshold", "suggest_threshold", "updated_at")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return not RoutingSettings.objects.exists() and super().has_add_permission(request)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def save_model(
        self, request: HttpRequest, obj: RoutingSettings, form: Any, change: bool
    ) -> None:
        obj.pk = 1
        super().save_model(request, obj, form, change)


@admin.register(Suggestion)
class SuggestionAdmin(admin.ModelAdmin):
    list_display = (
        "appeal",
        "created_at",
        "top_unit",
        "top_probability",
        "dispatched_unit",
        "overridden",
        "auto_unit",
    )
    list_filter = ("overridden", ("auto_at", admin.EmptyFieldListFilter), "top_unit")
    raw_id_fields = ("appeal",)
    readonly_fields = [f.name for f in Suggestion._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
