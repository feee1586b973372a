from django.apps import AppConfig


class SupervisionConfig(AppConfig):
    name = "kuaiban.supervision"
    label = "supervision"
