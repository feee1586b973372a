"""Regions, units, people and their roles, and API tokens."""

from __future__ import annotations

import hashlib
import secrets
from typing import ClassVar

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.translation import gettext_lazy as _


class Region(models.Model):
    class Level(models.TextChoices):
        COUNTY = "county", _("County")
        TOWNSHIP = "township", _("Township / street")
        VILLAGE = "village", _("Village / community")
        GRID = "grid", _("Grid")

    code = models.CharField(_("code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=100)
    level = models.CharField(_("level"), max_length=16, choices=Level.choices)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    # Its centre (WGS-84): a map pin with no region given is placed in the nearest village's.
    lat = models.DecimalField(
        _("centre latitude"), max_digits=9, decimal_places=6, null=True, blank=True
    )
    lng = models.DecimalField(
        _("centre longitude"), max_digits=9, decimal_places=6, null=True, blank=True
    )

    class Meta:
        ordering: ClassVar = ["code"]
        verbose_name = _("region")
        verbose_name_plural = _("regions")

    def __str__(self) -> str:
        return self.name

    @property
    def township(self) -> Region | None:
        node: Region | None = self
        while node is not None and node.level not in (self.Level.TOWNSHIP, self.Level.COUNTY):
            node = node.parent
        return node if node is not None and node.level == self.Level.TOWNSHIP else None

    def path_names(self) -> str:
        parts = []
        node: Region | None = self
        while node is not None and node.level != self.Level.COUNTY:
            parts.append(node.name)
            node = node.parent
        return " / ".join(reversed(parts))


class Unit(models.Model):
    """A department (住建局 …), a township/street government, or a village/community committee
    or grid (网格) that handles appeals. A village's or grid's ``region`` is its village/grid
    Region; its township is found up the region's parent chain (``township_region``)."""

    class Kind(models.TextChoices):
        DEPARTMENT = "department", _("Department")
        TOWNSHIP = "township", _("Township / street")
        VILLAGE = "village", _("Village / community")
        GRID = "grid", _("Grid")

    code = models.SlugField(_("code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=100, unique=True)
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    region = models.ForeignKey(
        Region,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        help_text=_("For a township, village or grid: the region it governs."),
    )
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering: ClassVar = ["kind", "code"]
        verbose_name = _("unit")
        verbose_name_plural = _("units")

    def __str__(self) -> str:
        return self.name

    @property
    def is_local(self) -> bool:
        """A village/community or grid unit (the levels below the township)."""
        return self.kind in (self.Kind.VILLAGE, self.Kind.GRID)

    @property
    def township_region(self) -> Region | None:
        """The township this unit belongs to: its own region for a township, the region's
        township up the parent chain for a village or grid; None for a department."""
        if self.region is None or self.kind == self.Kind.DEPARTMENT:
            return None
        return self.region.township


class Role(models.TextChoices):
    ADMIN = "admin", _("Administrator")
    OPERATOR = "operator", _("Operator")
    HANDLER = "handler", _("Handler")
    SUPERVISOR = "supervisor", _("Supervisor")
    LEADER = "leader", _("Leader")
    VISITOR = "visitor", _("Return visitor")
    # 网格员: bound to one grid unit (User.unit of kind grid); phone-first pages under /grid/.
    GRID_WORKER = "grid_worker", _("Grid worker")


class User(AbstractUser):
    role = models.CharField(_("role"), max_length=16, choices=Role.choices, default=Role.OPERATOR)
    unit = models.ForeignKey(
        Unit,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="members",
        verbose_name=_("unit"),
    )
    is_unit_head = models.BooleanField(_("unit head"), default=False)
    display_name = models.CharField(_("display name"), max_length=50, blank=True)
    phone = models.CharField(_("phone"), max_length=20, blank=True)

    class Meta(AbstractUser.Meta):
        verbose_name = _("user")  # type: ignore[assignment]
        verbose_name_plural = _("users")  # type: ignore[assignment]
        constraints: ClassVar = [
            models.CheckConstraint(
                condition=~models.Q(role="handler") | models.Q(unit__isnull=False),
                name="handler_has_unit",
            ),
            models.CheckConstraint(
                condition=~models.Q(role="grid_worker") | models.Q(unit__isnull=False),
                name="grid_worker_has_unit",
            ),
        ]

    def __str__(self) -> str:
        return self.display_name or self.username

    @property
    def label(self) -> str:
        return str(self)


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


class ApiToken(models.Model):
    """A personal bearer token for the REST API. Only the SHA-256 of the key is stored.

    A token works until ``expires_at`` (KUAIBAN_API_TOKEN_DAYS after creation unless chosen) or
    until its owner or an administrator revokes it."""

    user = models.ForeignKey(
        User, on_delete=models.CASCADE, related_name="api_tokens", verbose_name=_("user")
    )
    name = models.CharField(_("name"), max_length=100, blank=True)
    prefix = models.CharField(_("prefix"), max_length=8)
    digest = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True)
    expires_at = models.DateTimeField(_("expires at"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)

    class Meta:
        ordering: ClassVar = ["-created_at", "-id"]
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")

    def __str__(self) -> str:
        return f"{self.user} {self.prefix}…"

    @staticmethod
    def new_key() -> str:
        return "kb_" + secrets.token_urlsafe(32)

    @staticmethod
    def digest_of(key: str) -> str:
        return _digest(key)
