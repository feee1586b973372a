from django.apps import AppConfig


class EnterpriseConfig(AppConfig):
    name = "kuaiban.enterprise"
    label = "enterprise"

    def ready(self) -> None:
        from kuaiban.appeals.services import on_event
        from kuaiban.enterprise.services import link_on_register

        # Appeals registered with a known credit code join their enterprise after commit.
        on_event(link_on_register)
