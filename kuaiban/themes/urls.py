from django.urls import path

from kuaiban.themes import views

app_name = "themes"
urlpatterns = [
    # The public list (每月一题) is the app root; the staff pages live under desk/.
    path("", views.public_list, name="public"),
    path("<int:pk>/", views.public_detail, name="public_detail"),
    path("desk/", views.desk, name="desk"),
    path("desk/<int:pk>/", views.detail, name="detail"),
    path("desk/<int:pk>/<str:action>/", views.act, name="act"),
]
