"""Administration of integrating systems: keys (shown once), webhooks and the delivery log."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db import models
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from kuaiban.core import clock
from kuaiban.core.errors import ValidationFailed
from kuaiban.integrations import addresses, services, upstream, webhooks
from kuaiban.integrations.models import (
    WEBHOOK_EVENTS,
    ApiKey,
    Delivery,
    DeliveryAttempt,
    UpstreamPlatform,
    UpstreamTransfer,
    Webhook,
)

URL_FIELDS: dict[Any, dict[str, Any]] = {models.URLField: {"assume_scheme": "https"}}


class WebhookForm(forms.ModelForm):
    """Events as checkboxes of the known actions (a raw JSON box let typos and non-lists through,
    which silently sent nothing); the secret as long as the command line requires."""

    url = forms.URLField(label=_("URL"), max_length=500, assume_scheme="https")
    events = forms.MultipleChoiceField(
        label=_("events"),
        choices=[(e, e) for e in WEBHOOK_EVENTS],
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text=_("None ticked: every status change."),
    )

    class Meta:
        model = Webhook
        fields = ("api_key", "url", "secret", "events", "scope", "active")

    def clean_events(self) -> list[str]:
        chosen = set(self.cleaned_data.get("events") or [])
        return [e for e in WEBHOOK_EVENTS if e in chosen]

    def clean_url(self) -> str:
        url = str(self.cleaned_data.get("url") or "")
        try:
            return addresses.check_url(url)
        except ValidationFailed as exc:
            raise forms.ValidationError(str(exc.message)) from None

    def clean_secret(self) -> str:
        secret = str(self.cleaned_data.get("secret") or "").strip()
        if not webhooks.secret_valid(secret):
            raise forms.ValidationError(webhooks.secret_message())
        return secret


class WebhookInline(admin.TabularInline):
    model = Webhook
    form = WebhookForm
    extra = 0
    formfield_overrides = URL_FIELDS
    fields = ("url", "events", "scope", "active", "secret")


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = (
        "name",
        "channel",
        "prefix",
        "rate_per_minute",
        "public",
        "mode",
        "created_at",
        "last_used_at",
        "revoked_at",
    )
    list_filter = ("channel", "public", ("revoked_at", admin.EmptyFieldListFilter))
    search_fields = ("name", "description", "prefix")
    readonly_fields = ("prefix", "created_at", "created_by", "last_used_at", "revoked_at")
    fields = (
        "name",
        "channel",
        "description",
        "rate_per_minute",
        "public",
        "mode",
        "prefix",
        "created_at",
        "created_by",
        "last_used_at",
        "revoked_at",
    )
    inlines = (WebhookInline,)
    actions = ("revoke",)

    def save_model(self, request: HttpRequest, obj: ApiKey, form: Any, change: bool) -> None:
        key = None
        if not change:
            key = services.apikey_assign_secret(obj)
            obj.created_by = request.user  # type: ignore[assignment]
        super().save_model(request, obj, form, change)
        if key:
            messages.warning(
                request,
                _(
                    "The key for %(name)s is %(key)s — copy it now: it is stored hashed and is not "
                    "shown again."
                )
                % {"name": obj.name, "key": key},
            )

    @admin.action(description=_("Revoke the selected keys"))
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiKey]) -> None:
        live = queryset.filter(revoked_at__isnull=True)
        digests = list(live.values_list("digest", flat=True))
        count = live.update(revoked_at=clock.now())
        services.apikey_forget(digests=digests)  # an update sends no signals
        self.message_user(request, _("%(n)d key(s) revoked.") % {"n": count})


class AttemptInline(admin.TabularInline):
    model = DeliveryAttempt
    extra = 0
    can_delete = False
    fields = ("number", "at", "duration_ms", "status_code", "error", "response_body")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Webhook)
class WebhookAdmin(admin.ModelAdmin):
    form = WebhookForm
    list_display = ("api_key", "url", "scope", "active", "created_at")
    list_filter = ("active", "scope")
    search_fields = ("url", "api_key__name")
    formfield_overrides = URL_FIELDS


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    list_display = (
        "created_at",
        "event_type",
        "webhook",
        "status",
        "attempts",
        "last_status_code",
        "next_attempt_at",
        "delivered_at",
    )
    list_filter = ("status", "event_type")
    search_fields = ("uid", "webhook__url", "payload__number")
    readonly_fields = (
        "uid",
        "webhook",
        "event",
        "event_type",
        "payload",
        "status",
        "attempts",
        "next_attempt_at",
        "claimed_at",
        "last_status_code",
        "created_at",
        "delivered_at",
    )
    inlines = (AttemptInline,)
    actions = ("retry",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.action(description=_("Retry the selected failed deliveries"))
    def retry(self, request: HttpRequest, queryset: QuerySet[Delivery]) -> None:
        count = sum(webhooks.delivery_retry(d) for d in queryset)
        self.message_user(request, _("%(n)d delivery(ies) queued again.") % {"n": count})


class UpstreamPlatformForm(forms.ModelForm):
    """The adapter URL checked as a webhook's is (public addresses only), the secret as long
    as Standard Webhooks requires."""

    adapter_url = forms.URLField(label=_("adapter URL"), max_length=500, assume_scheme="https")

    class Meta:
        model = UpstreamPlatform
        fields = ("code", "name", "adapter_url", "secret", "active")

    def clean_adapter_url(self) -> str:
        url = str(self.cleaned_data.get("adapter_url") or "")
        try:
            return addresses.check_url(url)
        except ValidationFailed as exc:
            raise forms.ValidationError(str(exc.message)) from None

    def clean_secret(self) -> str:
        secret = str(self.cleaned_data.get("secret") or "").strip()
        if not webhooks.secret_valid(secret):
            raise forms.ValidationError(webhooks.secret_message())
        return secret


@admin.register(UpstreamPlatform)
class UpstreamPlatformAdmin(admin.ModelAdmin):
    form = UpstreamPlatformForm
    list_display = ("code", "name", "adapter_url", "active", "created_at")
    list_filter = ("active",)
    search_fields = ("code", "name")
    readonly_fields = ("api_key", "webhook", "created_at")

    def save_model(
        self, request: HttpRequest, obj: UpstreamPlatform, form: Any, change: bool
    ) -> None:
        upstream.platform_save(obj)  # the platform with its key and webhook, in step


@admin.register(UpstreamTransfer)
class UpstreamTransferAdmin(admin.ModelAdmin):
    list_display = ("upstream_number", "platform", "appeal", "upstream_unit", "upstream_deadline")
    list_filter = ("platform",)
    search_fields = ("upstream_number", "appeal__number")
    readonly_fields = (
        "appeal",
        "platform",
        "upstream_number",
        "upstream_unit",
        "upstream_deadline",
        "received_at",
    )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False
