from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ForesightConfig(AppConfig):
    name = "kuaiban.foresight"
    label = "foresight"
    verbose_name = _("Foresight (未诉先办)")

    def ready(self) -> None:
        from kuaiban.foresight import spikes

        spikes.connect()
