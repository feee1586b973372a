from django.urls import path

from kuaiban.portal import views

urlpatterns = [
    path("", views.home, name="home"),
    path("track/", views.track, name="track"),
    path("track", views.track),
]
