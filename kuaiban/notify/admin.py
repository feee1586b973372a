"""Administration of SMS: the templates (editable) and the delivery log (read-only, with phone
numbers and number shapes in the text masked for everyone but superusers)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.template import TemplateSyntaxError
from django.utils.translation import gettext_lazy as _

from kuaiban.core.masking import mask_text
from kuaiban.core.validation import mask_phone
from kuaiban.notify import sms
from kuaiban.notify.models import PhoneCode, SmsMessage, SmsTemplate


class SmsTemplateForm(forms.ModelForm):
    class Meta:
        model = SmsTemplate
        fields = (
            "code",
            "name",
            "text",
            "urgent",
            "active",
            "provider_template",
            "provider_params",
        )

    def clean_text(self) -> str:
        text = str(self.cleaned_data.get("text") or "")
        try:
            sms.render(text, {})
        except TemplateSyntaxError as exc:
            raise forms.ValidationError(
                _("Not a valid template: %(error)s") % {"error": exc}
            ) from None
        return text


@admin.register(SmsTemplate)
class SmsTemplateAdmin(admin.ModelAdmin):
    form = SmsTemplateForm
    list_display = ("code", "name", "text", "urgent", "active", "provider_template", "updated_at")
    list_filter = ("active", "urgent")
    search_fields = ("code", "name", "text")

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        # The code is what the application sends by: renaming it would silence that message.
        return ("code",) if obj is not None else ()

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


def _full(request: HttpRequest) -> bool:
    return bool(getattr(request.user, "is_superuser", False))


@admin.register(SmsMessage)
class SmsMessageAdmin(admin.ModelAdmin):
    """The delivery log. Read-only: a row is history; a failed one may be queued again. The
    number and the text are shown in full to superusers only (chosen per request)."""

    list_filter = ("status", "template")
    date_hierarchy = "created_at"
    actions = ("retry",)
    COMMON = (
        "template",
        "status",
        "urgent",
        "attempts",
        "last_error",
        "provider_id",
        "appeal_number",
        "created_at",
        "next_attempt_at",
        "sent_at",
    )

    def _columns(self, request: HttpRequest) -> tuple[str, str]:
        return ("to", "text") if _full(request) else ("masked_to", "masked_text")

    def get_list_display(self, request: HttpRequest) -> tuple[str, ...]:
        return (
            "created_at",
            self._columns(request)[0],
            "template",
            "status",
            "attempts",
            "sent_at",
        )

    def get_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        return (*self._columns(request), *self.COMMON)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        return self.get_fields(request, obj)

    def get_search_fields(self, request: HttpRequest) -> tuple[str, ...]:
        # Searching by number would tell a masked reader whose messages these are.
        return ("to", "appeal__number") if _full(request) else ("appeal__number",)

    def get_queryset(self, request: HttpRequest) -> QuerySet[SmsMessage]:
        return super().get_queryset(request).select_related("appeal")

    @admin.display(description=_("to"))
    def masked_to(self, obj: SmsMessage) -> str:
        return mask_phone(obj.to)

    @admin.display(description=_("text"))
    def masked_text(self, obj: SmsMessage) -> str:
        known = [obj.to, str((obj.params or {}).get("access_code") or "")]
        return mask_text(obj.text, known)

    @admin.display(description=_("appeal"))
    def appeal_number(self, obj: SmsMessage) -> str:
        return (obj.appeal.number or "") if obj.appeal else ""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.action(description=_("Send the selected failed messages again"), permissions=["view"])
    def retry(self, request: HttpRequest, queryset: QuerySet[SmsMessage]) -> None:
        queued = sum(sms.message_retry(m) for m in queryset.filter(status=SmsMessage.Status.FAILED))
        messages.success(request, _("%(n)d message(s) queued again.") % {"n": queued})


@admin.register(PhoneCode)
class PhoneCodeAdmin(admin.ModelAdmin):
    """Issued codes (hashes only), to answer "I never got my code"."""

    list_display = ("phone_masked", "created_at", "expires_at", "wrong_attempts", "spent_at")
    fields = ("phone_masked", "created_at", "expires_at", "wrong_attempts", "spent_at")
    readonly_fields = fields

    @admin.display(description=_("phone"))
    def phone_masked(self, obj: PhoneCode) -> str:
        return mask_phone(obj.phone)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
