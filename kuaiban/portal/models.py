"""The public front door's entrances (受理入口): one per public channel, configured by an
administrator (书记直通车, 书记县长信箱, the website…)."""

from __future__ import annotations

from typing import ClassVar

from django.db import models
from django.utils.translation import gettext_lazy as _

from kuaiban.appeals.models import Channel


class Entrance(models.Model):
    """A door the public submits through: ``/submit/<slug>/``. Its appeals come in on its
    channel, so the limits table's rows for that channel set their time limits."""

    slug = models.SlugField(_("address"), max_length=40, unique=True)
    title = models.CharField(_("title"), max_length=60)
    intro = models.TextField(_("introduction"), blank=True)
    channel = models.CharField(_("channel"), max_length=16, choices=Channel.choices)
    active = models.BooleanField(_("open"), default=True)
    position = models.PositiveSmallIntegerField(_("position"), default=0)

    class Meta:
        ordering: ClassVar = ["position", "slug"]
        verbose_name = _("entrance")
        verbose_name_plural = _("entrances")

    def __str__(self) -> str:
        return self.title
