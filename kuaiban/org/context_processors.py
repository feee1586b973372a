from __future__ import annotations

from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext_lazy as _

from kuaiban.org.models import Role, Unit, User

# Grid workers have their own phone pages (/grid/), not the desk's.
ALL = frozenset(Role.values) - {Role.GRID_WORKER}
STAFF = ALL - {Role.HANDLER}
GRID = frozenset({Role.GRID_WORKER})

# (url name, label, roles that see it). Entries whose page does not exist are skipped.
NAV: list[tuple[str, object, frozenset[str]]] = [
    ("appeals:inbox", _("My inbox"), frozenset({Role.HANDLER})),
    ("grid:list", _("My grid"), GRID),
    ("grid:report", _("Report a problem"), GRID),
    ("doors:home", _("Door-to-door visits"), GRID),
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
    (
        "doors:coverage",
        _("Door-visit coverage"),
        frozenset({Role.HANDLER, Role.SUPERVISOR, Role.LEADER, Role.ADMIN}),
    ),
    ("doors:focus", _("Focus lists"), frozenset({Role.HANDLER, Role.ADMIN})),
    (
        "assessment:cadres",
        _("Double ranking"),
        frozenset({Role.LEADER, Role.SUPERVISOR, Role.ADMIN, Role.HANDLER}),
    ),
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


# Pages a handler sees only as a handler of a township or village (敲门行动).
LOCAL_ONLY = frozenset({"doors:coverage", "doors:focus"})
LOCAL_KINDS = frozenset({Unit.Kind.TOWNSHIP, Unit.Kind.VILLAGE})


def _shown(user: User, name: str, roles: frozenset[str]) -> bool:
    if user.role not in roles:
        return name == "admin:index" and user.is_staff
    if name in LOCAL_ONLY and user.role == Role.HANDLER:
        return user.unit is not None and user.unit.kind in LOCAL_KINDS
    return True


def navigation(request: HttpRequest) -> dict[str, object]:
    user = getattr(request, "user", None)
    items: list[tuple[str, object]] = []
    if isinstance(user, User) and user.is_authenticated:
        for name, label, roles in NAV:
            if not _shown(user, name, roles):
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
