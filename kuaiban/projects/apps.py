from django.apps import AppConfig


class ProjectsConfig(AppConfig):
    name = "kuaiban.projects"
    label = "projects"
