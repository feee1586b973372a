from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class Open311Config(AppConfig):
    name = "kuaiban.open311"
    label = "open311"
    verbose_name = _("Open311")

    def ready(self) -> None:
        from django.db.models.signals import post_delete, post_save

        from kuaiban.appeals.models import Category
        from kuaiban.core.middleware import register_refusal
        from kuaiban.open311.models import Service, ServiceAttribute
        from kuaiban.open311.render import refused_input
        from kuaiban.open311.selectors import forget_version

        # The catalogue's version is asked at most once a second; an edit made in this process
        # is seen at once (other processes see it within that second).
        for model in (Category, Service, ServiceAttribute):
            for signal in (post_save, post_delete):
                signal.connect(
                    forget_version, sender=model, dispatch_uid=f"open311.{model.__name__}"
                )

        register_refusal("/open311/", refused_input)
