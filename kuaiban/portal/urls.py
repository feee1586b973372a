from django.urls import path

from kuaiban.portal import photos, views

urlpatterns = [
    path("", views.home, name="home"),
    path("track/", views.track, name="track"),
    path("track", views.track),
    path("mine/", views.mine, name="mine"),
    path("map/", views.public_map, name="map"),
    path("submit/", views.submit, name="submit"),
    path("photos/<str:token>/", photos.photo, name="public-photo"),
    path("submit/receipt/", views.receipt, name="receipt"),
    path("submit/join/<str:number>/", views.support, name="support"),
    path("submit/<slug:entrance>/", views.submit, name="submit-entrance"),
]
