from django.urls import path

from kuaiban.projects import views

app_name = "projects"
urlpatterns = [
    # The public progress chart (民生实事进度图) is the app root; staff pages live below it.
    path("", views.public, name="public"),
    path("photos/<int:pk>/", views.photo, name="photo"),
    path("admin/", views.admin, name="admin"),
    path("admin/<int:pk>/", views.detail, name="detail"),
    path("admin/<int:pk>/<str:action>/", views.act, name="act"),
]
