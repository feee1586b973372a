from django.urls import path

from kuaiban.supervision import views

app_name = "supervision"
urlpatterns = [
    path("", views.order_list, name="orders"),
    path("orders/<str:number>/", views.order_detail, name="order"),
    path("orders/<str:number>/<str:action>/", views.order_act, name="order_act"),
    path("appeal/<str:number>/order/", views.order_issue_for_appeal, name="order_for_appeal"),
    path("appeal/<str:number>/extension/", views.extension_request, name="extension_request"),
    path("extensions/", views.extension_list, name="extensions"),
    path("extensions/<int:extension_id>/decide/", views.extension_decide, name="extension_decide"),
    path("arbitration/", views.arbitration, name="arbitration"),
    path("arbitration/<str:number>/", views.arbitrate, name="arbitrate"),
    path("notifications/", views.notification_list, name="notifications"),
    path("notifications/read/", views.notifications_read_all, name="notifications_read_all"),
    path(
        "notifications/<int:notification_id>/read/",
        views.notification_read,
        name="notification_read",
    ),
    path("bulletin/", views.bulletin_page, name="bulletin"),
]
