from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SupervisionConfig(AppConfig):
    name = "kuaiban.supervision"
    label = "supervision"
    verbose_name = _("Supervision")

    def ready(self) -> None:
        from kuaiban.appeals.services import on_event
        from kuaiban.supervision.services.work_notices import on_appeal_event

        # Work arriving at a unit (dispatch, arbitration, a co-unit's part, rework) is told to
        # its handlers in the app, by e-mail and, where configured, by SMS.
        on_event(on_appeal_event)
