"""Public pages, mounted at /meetings/ (no login)."""

from django.urls import path

from kuaiban.enterprise import public_views

app_name = "meetings"
urlpatterns = [
    path("", public_views.meeting_list, name="list"),
    path("<int:pk>/", public_views.book, name="book"),
    path("policies/", public_views.policies, name="policies"),
]
