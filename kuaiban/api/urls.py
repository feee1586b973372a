from django.urls import path

from kuaiban.api.routes import api

urlpatterns = [path("", api.urls)]
