from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DeadlinesConfig(AppConfig):
    name = "kuaiban.deadlines"
    label = "deadlines"
    verbose_name = _("Deadlines")

    def ready(self) -> None:
        from kuaiban.deadlines import checks  # noqa: F401  (registers the system check)
