from django.apps import AppConfig


class AssessmentConfig(AppConfig):
    name = "kuaiban.assessment"
    label = "assessment"
