"""Open311 GeoReport v2: how categories are presented as services, and each request's extras.

Every appeal category is an Open311 service (``service_code`` = the category code). A
:class:`Service` row is optional: it adds a description, keywords, a notice, a default kind and
the extra fields (:class:`ServiceAttribute`) a category asks for. An appeal that arrived through
Open311 has one :class:`Open311Request`: its token, location (lat/long, address, address_id),
media URL and attributes, and the submitter's contact fields, which no GET answer ever shows.
"""

from __future__ import annotations

from typing import ClassVar

from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from kuaiban.appeals.models import Appeal, Category, Kind
from kuaiban.integrations.models import ApiKey

# Attribute codes every service definition carries (see kuaiban.open311.services).
RESERVED_CODES = frozenset({"kind", "urgency"})
OPEN311_KINDS = [(k.value, k.label) for k in Kind if k != Kind.REPORT]


class Service(models.Model):
    category = models.OneToOneField(
        Category,
        on_delete=models.CASCADE,
        related_name="open311_service",
        verbose_name=_("category"),
    )
    description = models.TextField(_("description"), blank=True)
    keywords = models.CharField(
        _("keywords"), max_length=300, blank=True, help_text=_("Comma separated synonyms.")
    )
    notice = models.CharField(
        _("service notice"),
        max_length=500,
        blank=True,
        help_text=_("What happens next, returned with each request (service_notice)."),
    )
    default_kind = models.CharField(
        _("default kind"), max_length=16, choices=OPEN311_KINDS, default=Kind.COMPLAINT
    )
    active = models.BooleanField(
        _("offered through Open311"), default=True, help_text=_("Untick to hide this category.")
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering: ClassVar = ["category__code"]
        verbose_name = _("Open311 service")
        verbose_name_plural = _("Open311 services")

    def __str__(self) -> str:
        return f"{self.category.code} {self.category.name}"


class ServiceAttribute(models.Model):
    class Datatype(models.TextChoices):
        STRING = "string", _("String (one line)")
        NUMBER = "number", _("Number")
        DATETIME = "datetime", _("Date and time")
        TEXT = "text", _("Text (several lines)")
        SINGLE = "singlevaluelist", _("One of a list")
        MULTI = "multivaluelist", _("Several of a list")

    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="attributes")
    code = models.CharField(
        _("code"),
        max_length=50,
        validators=[RegexValidator(r"^[A-Za-z0-9_.-]+$", _("Letters, digits, '_', '.', '-'."))],
    )
    variable = models.BooleanField(
        _("asks for input"), default=True, help_text=_("Untick for an information-only line.")
    )
    datatype = models.CharField(_("datatype"), max_length=16, choices=Datatype.choices)
    required = models.BooleanField(_("required"), default=False)
    datatype_description = models.CharField(_("datatype description"), max_length=200, blank=True)
    order = models.PositiveIntegerField(_("order"))
    description = models.CharField(_("description"), max_length=500)
    values = models.JSONField(
        _("values"),
        default=list,
        blank=True,
        help_text=_('For lists: [{"key": "k1", "name": "Name 1"}, …]'),
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering: ClassVar = ["service_id", "order"]
        verbose_name = _("service attribute")
        verbose_name_plural = _("service attributes")
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["service", "code"], name="attribute_service_code"),
            models.UniqueConstraint(fields=["service", "order"], name="attribute_service_order"),
        ]

    def __str__(self) -> str:
        return self.code

    def clean(self) -> None:
        if self.code in RESERVED_CODES:
            raise ValidationError({"code": _("This code is reserved for every service.")})
        is_list = self.datatype in (self.Datatype.SINGLE, self.Datatype.MULTI)
        values = self.values or []
        if is_list and not values:
            raise ValidationError({"values": _("A list needs values.")})
        if not is_list and values:
            raise ValidationError({"values": _("Only lists have values.")})
        if not isinstance(values, list) or not all(
            isinstance(v, dict) and str(v.get("key", "")).strip() and str(v.get("name", "")).strip()
            for v in values
        ):
            raise ValidationError({"values": _('Each value is {"key": …, "name": …}.')})

    def keys(self) -> list[str]:
        return [str(v["key"]) for v in self.values or []]


class Open311Request(models.Model):
    appeal = models.OneToOneField(Appeal, on_delete=models.PROTECT, related_name="open311")
    api_key = models.ForeignKey(ApiKey, on_delete=models.PROTECT, related_name="open311_requests")
    token = models.CharField(max_length=36, unique=True)
    service_code = models.CharField(max_length=32)
    requested_at = models.DateTimeField()
    lat = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    long = models.DecimalField(max_digits=10, decimal_places=6, null=True, blank=True)
    address_string = models.CharField(max_length=200, blank=True)
    address_id = models.CharField(max_length=32, blank=True)
    media_url = models.URLField(max_length=500, blank=True)
    description = models.TextField(blank=True)
    attributes = models.JSONField(default=dict, blank=True)
    # Personal data: kept for the record and for staff; never part of a GET answer.
    email = models.EmailField(blank=True)
    device_id = models.CharField(max_length=100, blank=True)
    account_id = models.CharField(max_length=100, blank=True)
    first_name = models.CharField(max_length=50, blank=True)
    last_name = models.CharField(max_length=50, blank=True)

    class Meta:
        verbose_name = _("Open311 request")
        verbose_name_plural = _("Open311 requests")
        indexes: ClassVar = [
            models.Index(fields=["-requested_at", "-id"], name="open311_requested"),
        ]

    def __str__(self) -> str:
        return str(self.appeal)
