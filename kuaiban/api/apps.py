from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "kuaiban.api"
    label = "kb_api"
