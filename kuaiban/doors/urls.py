from django.urls import path

from kuaiban.doors import views

app_name = "doors"
urlpatterns = [
    path("", views.home, name="home"),
    path("coverage/", views.coverage_page, name="coverage"),
    path("focus/", views.focus_page, name="focus"),
    path("grids/<slug:code>/", views.grid_page, name="grid"),
    path("grids/<slug:code>/visit/", views.visit_new, name="visit"),
]
