from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DoorsConfig(AppConfig):
    name = "kuaiban.doors"
    label = "doors"
    verbose_name = _("Door-to-door visits")
