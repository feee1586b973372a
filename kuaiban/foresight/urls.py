from django.urls import path

from kuaiban.foresight import views

app_name = "foresight"
urlpatterns = [
    path("spikes/<int:pk>/", views.spike_page, name="spike"),
]
