from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class IntegrationsConfig(AppConfig):
    name = "kuaiban.integrations"
    label = "integrations"
    verbose_name = _("Integrations")

    def ready(self) -> None:
        from kuaiban.appeals.services import on_event
        from kuaiban.integrations.webhooks import delivery_enqueue

        # Every committed event may owe deliveries to webhooks; the hook only inserts rows.
        on_event(delivery_enqueue)
