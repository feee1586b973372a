from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.utils.translation import gettext_lazy as _

from kuaiban.core.views import favicon, healthz
from kuaiban.org.forms import AdminLoginForm, LoginForm

admin.site.site_header = _("Kuaiban administration")
admin.site.site_title = _("Kuaiban")
admin.site.index_title = _("Settings and directory")
admin.site.login_form = AdminLoginForm

urlpatterns = [
    path("", include("kuaiban.portal.urls")),
    path("appeals/", include("kuaiban.appeals.urls")),
    path("grid/", include("kuaiban.appeals.grid_urls")),
    path("doors/", include("kuaiban.doors.urls")),
    path("api/v1/", include("kuaiban.api.urls")),
    path("supervision/", include("kuaiban.supervision.urls")),
    path("visits/", include("kuaiban.visits.urls")),
    path("metrics/", include("kuaiban.metrics.urls")),
    path("stars/", include("kuaiban.metrics.public_urls")),
    path("routing/", include("kuaiban.routing.urls")),
    path("open311/", include("kuaiban.open311.urls")),
    path("integrations/", include("kuaiban.integrations.urls")),
    path("enterprise/", include("kuaiban.enterprise.urls")),
    path("meetings/", include("kuaiban.enterprise.public_urls")),
    path("projects/", include("kuaiban.projects.urls")),
    path("assessment/", include("kuaiban.assessment.urls")),
    path("foresight/", include("kuaiban.foresight.urls")),
    path("themes/", include("kuaiban.themes.urls")),
    path("account/", include("kuaiban.org.urls")),
    path("admin/", admin.site.urls),
    path(
        "login/",
        auth_views.LoginView.as_view(
            template_name="core/login.html",
            authentication_form=LoginForm,
            redirect_authenticated_user=True,
        ),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("healthz", healthz, name="healthz"),
    path("favicon.ico", favicon, name="favicon"),
]
