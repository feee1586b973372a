from django.urls import path

from kuaiban.appeals import grid_views

app_name = "grid"
urlpatterns = [
    path("", grid_views.grid_list, name="list"),
    path("report/", grid_views.grid_report, name="report"),
]
