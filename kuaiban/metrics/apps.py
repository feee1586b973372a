from django.apps import AppConfig


class MetricsConfig(AppConfig):
    name = "kuaiban.metrics"
    label = "metrics"

    def ready(self) -> None:
        from kuaiban.metrics import facts

        facts.connect()
