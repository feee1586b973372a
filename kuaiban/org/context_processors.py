from __future__ import annotations

from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext_lazy as _

from kuaiban.org.models import Role, User

# Grid workers have their own phone pages (/grid/), not the desk's.
ALL = frozenset(Role.values) - {Role.GRID_WORKER}
STAFF = ALL - {Role.HANDLER}
GRID = frozenset({Role.GRID_WORKER})

# (url name, label, roles that see it). Entries whose page does not exist are skipped.
NAV: list[tuple[str, object, frozenset[str]]] = [
    ("appeals:inbox", _("My inbox"), frozenset({Role.HANDLER})),
    ("grid:list", _("My grid"), GRID),
    ("grid:report", _("Report a problem"), GRID),
    ("appeals:register", _("Register"), frozenset({Role.OPERATOR, Role.SUPERVISOR})),
    ("appeals:ledger", _("Ledger"), ALL),
    ("visits:desk", _("Return visits"), frozenset({Role.VISITOR, Role.SUPERVISOR})),
    (
        "supervision:orders",
        _("Supervision"),
        frozenset({Role.SUPERVISOR, Role.LEADER, Role.HANDLER}),
    ),
    ("metrics:dashboard", _("Overview"), frozenset({Role.LEADER, Role.SUPERVISOR, Role.ADMIN})),
    ("metrics:rankings", _("Rankings"), frozenset({Role.LEADER, Role.SUPERVISOR, Role.ADMIN})),
    ("routing:hot", _("Hot issues"), STAFF),
    (
        "routing:overrides",
        _("Suggestions and overrides"),
        frozenset({Role.SUPERVISOR, Role.LEADER, Role.ADMIN}),
    ),
    ("enterprise:list", _("Enterprises"), ALL),
    ("enterprise:mine", _("My enterprises"), frozenset({Role.HANDLER, Role.LEADER, Role.VISITOR})),
    ("enterprise:meetings", _("Breakfast meetings"), ALL),
    ("projects:admin", _("Livelihood projects"), ALL),
    ("themes:desk", _("Monthly themes"), ALL),
    ("supervision:notifications", _("Notifications"), ALL),
    ("admin:index", _("Administration"), frozenset({Role.ADMIN})),
]


def navigation(request: HttpRequest) -> dict[str, object]:
    user = getattr(request, "user", None)
    items: list[tuple[str, object]] = []
    if isinstance(user, User) and user.is_authenticated:
        for name, label, roles in NAV:
            if user.role not in roles and not (name == "admin:index" and user.is_staff):
                continue
            try:
                items.append((reverse(name), label))
            except NoReverseMatch:
                continue
    else:
        items.append((reverse("submit"), _("Submit an appeal")))
        items.append((reverse("map"), _("Problem map")))
    items.append((reverse("track"), _("Track an appeal")))
    if not (isinstance(user, User) and user.is_authenticated):
        items.append((reverse("mine"), _("My appeals")))
        items.append((reverse("themes:public"), _("Monthly themes")))
    return {"nav_items": items}
