from django.urls import path

from kuaiban.portal import views

urlpatterns = [
    path("", views.home, name="home"),
    path("track/", views.track, name="track"),
    path("track", views.track),
    path("map/", views.public_map, name="map"),
    path("submit/", views.submit, name="submit"),
    path("submit/receipt/", views.receipt, name="receipt"),
    path("submit/<slug:entrance>/", views.submit, name="submit-entrance"),
]
