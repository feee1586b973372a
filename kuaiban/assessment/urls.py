from django.urls import path

from kuaiban.assessment import views

app_name = "assessment"
urlpatterns = [
    path("cadres/", views.cadres, name="cadres"),
    path("cadres.xlsx", views.cadres_xlsx, name="cadres_xlsx"),
    path("key-work/", views.key_work, name="key_work"),
    path("key-work.xlsx", views.key_work_xlsx, name="key_work_xlsx"),
]
