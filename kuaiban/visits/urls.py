from django.urls import path

from kuaiban.visits import views

app_name = "visits"
urlpatterns = [
    path("", views.desk, name="desk"),
    path("rate/<str:token>/", views.rate, name="rate"),
    path("<str:number>/", views.call, name="call"),
    path("<str:number>/link/", views.link, name="link"),
]
