"""Routing: trained model versions, training jobs, the auto-dispatch setting, the suggestion
shown for each appeal (to count how often operators overrode it) and the search rows of the
similar-appeal lookup."""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.contrib.postgres.search import SearchVectorField
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from kuaiban.appeals.models import Appeal
from kuaiban.org.models import Unit


class Target(models.TextChoices):
    CATEGORY = "category", _("Category")
    UNIT = "unit", _("Lead unit")


class ModelVersion(models.Model):
    """One trained classifier: a file under ``DATA_DIR/models/`` and what we know about it."""

    version = models.CharField(_("version"), max_length=64, unique=True)
    target = models.CharField(_("target"), max_length=16, choices=Target.choices)
    path = models.CharField(_("file"), max_length=300, help_text=_("Relative to DATA_DIR/models/."))
    checksum = models.CharField(max_length=64, editable=False)
    trained_at = models.DateTimeField(_("trained at"))
    train_seconds = models.FloatField(_("training seconds"), default=0)
    size = models.PositiveBigIntegerField(_("file size (bytes)"), default=0)
    n_samples = models.PositiveIntegerField(_("samples"), default=0)
    classes = models.JSONField(_("classes"), default=list)
    source = models.CharField(_("trained on"), max_length=300, blank=True)
    cv_folds = models.PositiveSmallIntegerField(_("CV folds"), null=True, blank=True)
    cv_accuracy = models.FloatField(_("CV accuracy"), null=True, blank=True)
    cv_macro_f1 = models.FloatField(_("CV macro-F1"), null=True, blank=True)
    scores = models.JSONField(_("cross-validated scores"), default=dict, blank=True)
    active = models.BooleanField(_("active"), default=False)
    activated_at = models.DateTimeField(_("activated at"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("created by"),
    )

    class Meta:
        ordering: ClassVar = ["-trained_at", "-id"]
        verbose_name = _("model version")
        verbose_name_plural = _("model versions")
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["target"], condition=models.Q(active=True), name="routing_one_active_model"
            )
        ]

    def __str__(self) -> str:
        return self.version


class TrainingJob(models.Model):
    """A request to train in the background; a worker claims it with a conditional UPDATE."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    target = models.CharField(_("target"), max_length=16, choices=Target.choices)
    cv_folds = models.PositiveSmallIntegerField(
        _("CV folds"), default=5, validators=[MaxValueValidator(10)], help_text=_("0: no CV.")
    )
    activate = models.BooleanField(_("activate when done"), default=True)
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.QUEUED
    )
    created_at = models.DateTimeField(_("queued at"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("created by"),
    )
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    worker = models.CharField(_("worker"), max_length=100, blank=True)
    result = models.ForeignKey(
        ModelVersion,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("model version"),
    )
    output = models.TextField(_("output"), blank=True)

    class Meta:
        ordering: ClassVar = ["-created_at", "-id"]
        verbose_name = _("training job")
        verbose_name_plural = _("training jobs")
        indexes: ClassVar = [
            models.Index(fields=["status", "created_at"], name="routing_job_queue")
        ]

    def __str__(self) -> str:
        return f"{self.get_target_display()} #{self.pk}"


class RoutingSettings(models.Model):
    """The administrator's switches (one row)."""

    auto_dispatch = models.BooleanField(
        _("dispatch automatically"),
        default=False,
        help_text=_(
            "When the lead-unit model's top suggestion is at least as probable as the threshold, "
            "the system user dispatches the new appeal to it."
        ),
    )
    threshold = models.FloatField(
        _("confidence threshold"),
        default=0.9,
        validators=[MinValueValidator(0.5), MaxValueValidator(1.0)],
    )
    suggest_threshold = models.FloatField(
        _("suggestion threshold"),
        default=0.5,
        validators=[MinValueValidator(0.0), MaxValueValidator(1.0)],
        help_text=_(
            "Below this probability the intake page and the API show no confident suggestion "
            "(the candidates stay listed as unsure)."
        ),
    )
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("routing settings")
        verbose_name_plural = _("routing settings")

    def __str__(self) -> str:
        return str(_("Routing settings"))


class Suggestion(models.Model):
    """What the models suggested for an appeal when it was registered, and what happened."""

    appeal = models.OneToOneField(Appeal, on_delete=models.CASCADE, related_name="suggestion")
    created_at = models.DateTimeField()
    category_model = models.ForeignKey(
        ModelVersion, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    unit_model = models.ForeignKey(
        ModelVersion, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    categories = models.JSONField(default=list)  # [[name, p], ...]
    units = models.JSONField(default=list)  # [[code, name, p], ...]
    top_unit = models.ForeignKey(
        Unit, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    top_probability = models.FloatField(null=True, blank=True)
    # The first dispatch by the system (automatic) and the first by a person.
    auto_unit = models.ForeignKey(
        Unit, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    auto_at = models.DateTimeField(null=True, blank=True)
    dispatched_unit = models.ForeignKey(
        Unit, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    dispatched_at = models.DateTimeField(null=True, blank=True)
    overridden = models.BooleanField(null=True, blank=True)

    class Meta:
        ordering: ClassVar = ["-created_at", "-id"]
        verbose_name = _("suggestion")
        verbose_name_plural = _("suggestions")

    def __str__(self) -> str:
        return f"{self.appeal_id} → {self.top_unit_id}"


class SimilarText(models.Model):
    """One appeal's character bigrams for the similar-appeal lookup (``kuaiban.routing.similar``).

    On PostgreSQL a trigger on the appeals table writes this row in the transaction that
    registers the appeal (so it is findable at commit) and rewrites it when the folded text,
    the received time or the merged/invalid state changes; ``grams`` is a ``tsvector`` of the
    distinct bigrams of ``Appeal.search_text`` with a GIN index over the live rows (migration
    0003). On SQLite the table stays empty: the lookup scans the recent appeals instead.
    """

    appeal = models.OneToOneField(
        Appeal, on_delete=models.CASCADE, primary_key=True, related_name="+"
    )
    received_at = models.DateTimeField()
    # False once the appeal is merged or marked invalid: it is no longer offered as similar.
    live = models.BooleanField(default=True)
    grams = SearchVectorField(null=True)

    class Meta:
        verbose_name = _("similar-appeal search row")
        verbose_name_plural = _("similar-appeal search rows")

    def __str__(self) -> str:
        return f"{self.appeal_id}"
