from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "kuaiban.core"
    label = "core"
