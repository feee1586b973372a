from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RoutingConfig(AppConfig):
    name = "kuaiban.routing"
    label = "routing"
    verbose_name = _("Routing")

    def ready(self) -> None:
        from kuaiban.appeals.services import on_event
        from kuaiban.routing.services import on_appeal_event

        # New appeals get their suggestion recorded (and maybe an automatic dispatch);
        # dispatches are compared with the suggestion. Never raises.
        on_event(on_appeal_event)
