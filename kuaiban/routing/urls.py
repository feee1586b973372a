from django.urls import path

from kuaiban.routing import views

app_name = "routing"
urlpatterns = [
    path("hot/", views.hot, name="hot"),
    path("overrides/", views.overrides, name="overrides"),
    path("intake/", views.intake_panel, name="intake"),
    path("register/", views.register_and, name="register"),
    path("appeals/<str:number>/", views.appeal_panel, name="appeal"),
    path("appeals/<str:number>/merge/", views.merge, name="merge"),
]
