from django.urls import path

from kuaiban.appeals import views

app_name = "appeals"
urlpatterns = [
    path("", views.ledger, name="ledger"),
    path("new/", views.register, name="register"),
    path("inbox/", views.inbox, name="inbox"),
    path("caller/", views.caller_history, name="caller_history"),
    path("map/", views.ledger_map, name="map"),
    path("<str:number>/", views.detail, name="detail"),
    path("<str:number>/files/<int:pk>/", views.attachment, name="attachment"),
    path("<str:number>/<str:action>/", views.act, name="act"),
]
