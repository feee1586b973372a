"""Writes for industry chains (产业链): a county leader, the chain's enterprises and projects."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.apps import apps
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from kuaiban.core import clock
from kuaiban.core.errors import Conflict, NotFound, ValidationFailed
from kuaiban.enterprise import rules
from kuaiban.enterprise.models import Enterprise, IndustryChain
from kuaiban.enterprise.services.checks import collect, require, text
from kuaiban.enterprise.services.registry import enterprise_for_code
from kuaiban.org.models import Role, User

NAME_MAX = 100
DESCRIPTION_MAX = 2000


@dataclass
class ChainInput:
    name: str
    leader: str  # username of a county leader (链长)
    description: str = ""
    enterprises: list[str] = field(default_factory=list)  # credit codes
    projects: list[int] = field(default_factory=list)  # livelihood project ids


def _leader(username: str) -> User:
    person = User.objects.filter(
        username=(username or "").strip(), is_active=True, role=Role.LEADER
    ).first()
    if person is None:
        raise ValidationFailed.one(
            "leader",
            _("The chain leader is a county leader; no such leader %(name)r.") % {"name": username},
        )
    return person


def enterprises_of(codes: list[str], field_name: str = "enterprises") -> list[Enterprise]:
    """The enterprises of these credit codes, each once; an unknown code names ``field_name``."""
    out: dict[int, Enterprise] = {}
    for value in codes:
        found = enterprise_for_code(value, field_name)
        out[found.pk] = found
    return list(out.values())


def _projects(ids: list[int]) -> list[Any]:
    # projects builds on enterprise: its model is looked up through the app registry.
    project_model = apps.get_model("projects", "Project")
    wanted = set(ids)
    found = list(project_model.objects.filter(pk__in=wanted))
    missing = wanted - {p.pk for p in found}
    if missing:
        raise ValidationFailed.one(
            "projects",
            _("No project #%(id)s.") % {"id": ", #".join(str(i) for i in sorted(missing))},
        )
    return found


def _clean(data: ChainInput) -> dict[str, Any]:
    return collect(
        [
            ("name", lambda: text(data.name, "name", required=True, limit=NAME_MAX)),
            ("leader", lambda: _leader(data.leader)),
            (
                "description",
                lambda: text(
                    data.description, "description", required=False, limit=DESCRIPTION_MAX
                ),
            ),
            ("enterprises", lambda: enterprises_of(data.enterprises)),
            ("projects", lambda: _projects(data.projects)),
        ]
    )


def _taken(name: str) -> Conflict:
    return Conflict(
        _("An industry chain named %(name)s already exists.") % {"name": name}, code="duplicate"
    )


@transaction.atomic
def chain_create(*, actor: User, data: ChainInput) -> IndustryChain:
    """A new industry chain with its leader, enterprises and projects."""
    require(actor, rules.MANAGE_CHAINS)
    clean = _clean(data)
    if IndustryChain.objects.filter(name=clean["name"]).exists():
        raise _taken(clean["name"])
    now = clock.now()
    try:
        with transaction.atomic():
            chain = IndustryChain.objects.create(
                name=clean["name"],
                leader=clean["leader"],
                description=clean["description"],
                created_by=actor,
                created_at=now,
                updated_at=now,
            )
    except IntegrityError:
        raise _taken(clean["name"]) from None
    chain.enterprises.set(clean["enterprises"])
    chain.projects.set(clean["projects"])
    return chain


@transaction.atomic
def chain_update(*, actor: User, chain_id: int, data: ChainInput) -> IndustryChain:
    """Replace a chain's name, leader, description, enterprises and projects."""
    require(actor, rules.MANAGE_CHAINS)
    chain = IndustryChain.objects.select_for_update().filter(pk=chain_id).first()
    if chain is None:
        raise NotFound(_("No industry chain #%(id)s.") % {"id": chain_id})
    clean = _clean(data)
    if IndustryChain.objects.filter(name=clean["name"]).exclude(pk=chain.pk).exists():
        raise _taken(clean["name"])
    chain.name = clean["name"]
    chain.leader = clean["leader"]
    chain.description = clean["description"]
    chain.updated_at = clock.now()
    chain.save(update_fields=["name", "leader", "description", "updated_at"])
    chain.enterprises.set(clean["enterprises"])
    chain.projects.set(clean["projects"])
    return chain
