from django.apps import AppConfig


class PortalConfig(AppConfig):
    name = "kuaiban.portal"
    label = "portal"

    def ready(self) -> None:
        from kuaiban.notify.hooks import also_tell
        from kuaiban.portal.services import supporters_of

        also_tell(supporters_of)
