"""Public pages of the metrics domain, mounted at /stars/ (no login)."""

from django.urls import path

from kuaiban.metrics import public_views

app_name = "stars"
urlpatterns = [
    path("", public_views.village_stars, name="village"),
]
