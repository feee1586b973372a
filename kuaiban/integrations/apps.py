from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class IntegrationsConfig(AppConfig):
    name = "kuaiban.integrations"
    label = "integrations"
    verbose_name = _("Integrations")

    def ready(self) -> None:
        from django.db.models.signals import post_delete, post_save

        from kuaiban.appeals.services import on_event
        from kuaiban.integrations.models import ApiKey
        from kuaiban.integrations.services import apikey_forget
        from kuaiban.integrations.webhooks import delivery_enqueue

        # Keys are read at most once a second per process; an edit here is seen at once.
        post_save.connect(apikey_forget, sender=ApiKey, dispatch_uid="integrations.key_saved")
        post_delete.connect(apikey_forget, sender=ApiKey, dispatch_uid="integrations.key_gone")

        # Every committed event may owe deliveries to webhooks; the hook only inserts rows.
        on_event(delivery_enqueue)
