from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MetricsConfig(AppConfig):
    name = "kuaiban.metrics"
    label = "metrics"
    verbose_name = _("Metrics and rankings")

    def ready(self) -> None:
        from kuaiban.metrics import facts

        facts.connect()
