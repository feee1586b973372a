from django.urls import path

from kuaiban.metrics import views

app_name = "metrics"
urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("rankings/", views.rankings_page, name="rankings"),
    path("assessment/", views.assessment_page, name="assessment"),
    path("rankings.xlsx", views.rankings_xlsx, name="rankings_xlsx"),
    path("appeals/", views.drill, name="drill"),
    path("ledger.xlsx", views.ledger_xlsx, name="ledger_export"),
    path("exports/<str:job>/", views.export_page, name="export"),
    path("exports/<str:job>/progress/", views.export_progress, name="export_progress"),
    path("exports/<str:job>/ledger.xlsx", views.export_download, name="export_download"),
    path("import/", views.import_page, name="import"),
    path("import/template.xlsx", views.import_template, name="import_template"),
    path("import/<int:pk>/progress/", views.import_progress, name="import_progress"),
]
