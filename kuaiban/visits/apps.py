from django.apps import AppConfig


class VisitsConfig(AppConfig):
    name = "kuaiban.visits"
    label = "visits"
