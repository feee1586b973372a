from django.urls import path

from kuaiban.enterprise import meeting_views, network_views, views

app_name = "enterprise"
urlpatterns = [
    path("", views.enterprise_list, name="list"),
    path("new/", views.enterprise_create, name="create"),
    path("import/", views.import_view, name="import"),
    path("import/template.xlsx", views.import_template, name="import_template"),
    path("import/<str:job>/progress/", views.import_progress, name="import_progress"),
    path("mine/", views.mine, name="mine"),
    path("figures/", views.figures, name="figures"),
    path("desk/", views.desk, name="desk"),
    path("meetings/", meeting_views.meetings, name="meetings"),
    path("meetings/<int:pk>/", meeting_views.meeting, name="meeting"),
    path("meetings/<int:pk>/<str:action>/", meeting_views.meeting_act, name="meeting_act"),
    path("policies/", views.policies, name="policies"),
    path("answers/", views.answers, name="answers"),
    path("answers/<int:pk>/", views.answer, name="answer"),
    path("chains/", network_views.chains, name="chains"),
    path("chains/<int:pk>/", network_views.chain, name="chain"),
    path("groups/", network_views.groups, name="groups"),
    path("groups/<int:pk>/", network_views.group, name="group"),
    path("groups/<int:pk>/problems/", network_views.group_problem, name="group_problem"),
    path("groups/<int:pk>/answers/", network_views.group_answer, name="group_answer"),
    path("assignments/<int:pk>/end/", views.assignment_end, name="assignment_end"),
    path("<str:code>/", views.enterprise_detail, name="detail"),
    path("<str:code>/visit/", views.visit, name="visit"),
    path("<str:code>/assign/", views.assign, name="assign"),
    path("<str:code>/contacts/", views.contact_add, name="contact_add"),
]
