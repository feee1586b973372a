"""Administrators edit the limits table, the working hours and the calendar's overrides.

Every page here warns when the installed chinese-calendar does not know a year that deadlines
may reach: the system keeps working (weekends only, plus the days entered here) and says so.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from kuaiban.core import clock
from kuaiban.core.errors import DomainError
from kuaiban.deadlines import services
from kuaiban.deadlines.models import CalendarDay, TimeLimit, WorkSettings
from kuaiban.deadlines.notice import parse_notice


def warn_unknown_years(request: HttpRequest) -> None:
    for year in services.calendar_warnings(timezone.localdate(clock.now())):
        messages.warning(
            request,
            _(
                "The installed chinese-calendar does not know %(year)d: working days fall back "
                "to weekends only, plus the %(n)d calendar days entered for that year. Upgrade "
                "chinese-calendar, or enter the State Council's holiday notice as calendar days."
            )
            % {"year": year, "n": services.overrides_in(year)},
        )


class WarningAdmin(admin.ModelAdmin):
    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        warn_unknown_years(request)
        return super().changelist_view(request, extra_context)

    def changeform_view(
        self,
        request: HttpRequest,
        object_id: str | None = None,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        # On the form itself too (where a calendar day is entered); not on a save, whose
        # redirect lands on a page that warns already.
        if request.method == "GET":
            warn_unknown_years(request)
        return super().changeform_view(request, object_id, form_url, extra_context)


@admin.register(TimeLimit)
class TimeLimitAdmin(WarningAdmin):
    list_display = ("__str__", "claim", "reply", "visit", "basis")
    list_filter = ("urgency", "channel", "kind")
    fieldsets = (
        (gettext_lazy("Applies to (blank: any)"), {"fields": ("channel", "kind", "urgency")}),
        (
            gettext_lazy("Limits (blank: inherit from a less specific row)"),
            {
                "fields": (
                    ("claim_amount", "claim_unit"),
                    ("reply_amount", "reply_unit"),
                    ("visit_amount", "visit_unit"),
                    "assist_lead",
                )
            },
        ),
        (
            gettext_lazy("Petitions (信访): clocks only some appeals have"),
            {
                "fields": (
                    ("notice_amount", "notice_unit"),
                    ("review_amount", "review_unit"),
                    ("recheck_amount", "recheck_unit"),
                    ("extension_amount", "extension_unit"),
                )
            },
        ),
        (None, {"fields": ("basis",)}),
    )

    @staticmethod
    def _limit(row: TimeLimit, stage: str) -> str:
        amount = getattr(row, f"{stage}_amount")
        if amount is None:
            return "—"
        label = getattr(row, f"get_{stage}_unit_display")()
        return f"{amount.normalize():f} {label}"

    @admin.display(description=gettext_lazy("claim"))
    def claim(self, row: TimeLimit) -> str:
        return self._limit(row, "claim")

    @admin.display(description=gettext_lazy("reply"))
    def reply(self, row: TimeLimit) -> str:
        return self._limit(row, "reply")

    @admin.display(description=gettext_lazy("return visit"))
    def visit(self, row: TimeLimit) -> str:
        return self._limit(row, "visit")


@admin.register(WorkSettings)
class WorkSettingsAdmin(WarningAdmin):
    list_display = (
        "__str__",
        "morning_start",
        "morning_end",
        "afternoon_start",
        "afternoon_end",
        "warn_workdays",
        "warn_percent",
        "max_extensions",
    )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return not WorkSettings.objects.exists() and super().has_add_permission(request)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(CalendarDay)
class CalendarDayAdmin(WarningAdmin):
    list_display = ("date", "weekday", "is_workday", "note")
    list_filter = ("is_workday",)
    date_hierarchy = "date"
    search_fields = ("note",)

    change_list_template = "admin/deadlines/calendarday/change_list.html"

    # One day added, changed or deleted here moves deadlines as the notice does.
    def save_model(self, request: HttpRequest, obj: CalendarDay, form: Any, change: bool) -> None:
        from kuaiban.deadlines.changes import calendar_changed

        dates = [obj.date]
        if change and "date" in form.changed_data:
            dates.append(form.initial["date"])
        with calendar_changed(actor=request.user, dates=dates):  # type: ignore[arg-type]
            super().save_model(request, obj, form, change)

    def delete_model(self, request: HttpRequest, obj: CalendarDay) -> None:
        from kuaiban.deadlines.changes import calendar_changed

        with calendar_changed(actor=request.user, dates=[obj.date]):  # type: ignore[arg-type]
            super().delete_model(request, obj)

    def delete_queryset(self, request: HttpRequest, queryset: Any) -> None:
        from kuaiban.deadlines.changes import calendar_changed

        dates = list(queryset.values_list("date", flat=True))
        with calendar_changed(actor=request.user, dates=dates):  # type: ignore[arg-type]
            super().delete_queryset(request, queryset)

    @admin.display(description=gettext_lazy("weekday"))
    def weekday(self, row: CalendarDay) -> str:
        return formats.date_format(row.date, "l")

    def get_urls(self) -> list[URLPattern]:
        own = [
            path(
                "notice/",
                self.admin_site.admin_view(self.notice_view),
                name="deadlines_calendarday_notice",
            )
        ]
        return own + super().get_urls()

    def notice_view(self, request: HttpRequest) -> HttpResponse:
        """Paste the State Council's holiday notice: preview its days, then save them."""
        if not (self.has_add_permission(request) and self.has_change_permission(request)):
            raise PermissionDenied
        from kuaiban.deadlines.changes import calendar_days_save

        text = request.POST.get("notice", "")
        year_text = request.POST.get("year", "").strip()
        context: dict[str, Any] = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": _("Enter the State Council's holiday notice"),
            "notice": text,
            "year": year_text,
            "errors": {},
        }
        if request.method == "POST":
            try:
                year = int(year_text) if year_text else None
            except ValueError:
                context["errors"] = {"year": _("A year like 2027.")}
                return TemplateResponse(request, "admin/deadlines/calendarday/notice.html", context)
            try:
                days = parse_notice(text, year=year)
            except DomainError as exc:
                context["errors"] = {e.field: e.message for e in exc.errors}
                return TemplateResponse(request, "admin/deadlines/calendarday/notice.html", context)
            if "save" in request.POST:
                change = calendar_days_save(actor=request.user, days=days)  # type: ignore[arg-type]
                messages.success(
                    request,
                    _(
                        "%(n)d calendar days saved (%(changed)d changed the calendar); "
                        "deadlines of %(appeals)d open appeals recomputed."
                    )
                    % {
                        "n": change.written,
                        "changed": len(change.changed_days),
                        "appeals": len(change.appeals),
                    },
                )
                return HttpResponseRedirect(reverse("admin:deadlines_calendarday_changelist"))
            context["preview"] = [
                {
                    "date": d.date,
                    "weekday": formats.date_format(d.date, "l"),
                    "is_workday": d.is_workday,
                    "name": d.name,
                }
                for d in days
            ]
        return TemplateResponse(request, "admin/deadlines/calendarday/notice.html", context)
