from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ThemesConfig(AppConfig):
    name = "kuaiban.themes"
    label = "themes"
    verbose_name = _("Monthly themes")

    def ready(self) -> None:
        from kuaiban.appeals.services import on_event
        from kuaiban.themes.services import on_appeal_event

        # A newly registered appeal is matched against the open themes after commit.
        on_event(on_appeal_event)
