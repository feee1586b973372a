from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class NotifyConfig(AppConfig):
    name = "kuaiban.notify"
    label = "notify"
    verbose_name = _("Notifications")

    def ready(self) -> None:
        from kuaiban.appeals.services import on_event
        from kuaiban.notify.hooks import on_appeal_event

        # Each committed event of an appeal may owe its submitter an SMS (received, dispatched,
        # replied with the self-rating link, closed); the hook only queues rows.
        on_event(on_appeal_event)
