from django.apps import AppConfig


class PortalConfig(AppConfig):
    name = "kuaiban.portal"
    label = "portal"
