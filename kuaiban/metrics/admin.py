from django.contrib import admin
from django.http import HttpRequest

from kuaiban.metrics.models import ImportBatch, ScoreScheme


@admin.register(ScoreScheme)
class ScoreSchemeAdmin(admin.ModelAdmin):
    """One row: the composite score's weights and the star bands."""

    list_display = (
        "__str__",
        "response_metric",
        "response_weight",
        "resolution_weight",
        "satisfaction_weight",
        "updated_at",
    )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return not ScoreScheme.objects.exists()


@admin.register(ImportBatch)
class ImportBatchAdmin(admin.ModelAdmin):
    list_display = (
        "file_name",
        "state",
        "rows",
        "valid",
        "invalid",
        "imported",
        "created_by",
        "created_at",
    )
    readonly_fields = (
        "file_name",
        "sha256",
        "state",
        "rows",
        "valid",
        "invalid",
        "duplicates",
        "imported",
        "report",
        "created_by",
    )
    exclude = ("content",)
