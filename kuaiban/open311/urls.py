"""GeoReport v2 under /open311/v2/: every resource as .json and .xml."""

from django.urls import URLPattern, re_path

from kuaiban.open311 import views

app_name = "open311"

F = r"\.(?P<fmt>json|xml)$"

urlpatterns: list[URLPattern] = [
    re_path(r"^v2/discovery" + F, views.discovery, name="discovery"),
    re_path(r"^v2/services" + F, views.service_list, name="services"),
    re_path(r"^v2/services/(?P<code>[^/]+?)" + F, views.service_definition, name="service"),
    re_path(r"^v2/requests" + F, views.requests, name="requests"),
    re_path(r"^v2/requests/(?P<number>[^/]+?)" + F, views.request_detail, name="request"),
    re_path(r"^v2/tokens/(?P<token>[^/]+?)" + F, views.token, name="token"),
    re_path(r"^(?P<path>v2/.*?)" + F, views.unknown),
    re_path(r"^(?P<path>v2(?:/.*)?)$", views.unknown, {"fmt": "xml"}),
]
