"""Writes for the enterprise registry: an enterprise's facts and its contacts."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils.translation import gettext as _

from kuaiban.core.errors import Conflict, NotFound, ValidationFailed
from kuaiban.core.validation import clean_credit_code, clean_phone
from kuaiban.enterprise import industries, rules
from kuaiban.enterprise.models import Contact, Enterprise, Industry, Size
from kuaiban.enterprise.services.checks import PERSON_MAX, collect, require, text
from kuaiban.enterprise.services.links import link_existing_appeals
from kuaiban.org.models import Region, User

NAME_MAX = 200
ADDRESS_MAX = 200


@dataclass
class EnterpriseInput:
    credit_code: str
    name: str
    industry: str
    size: str
    township: str | None = None
    address: str | None = None
    contact_name: str | None = None
    contact_phone: str | None = None


def _industry(value: str) -> Industry:
    code = industries.resolve(value)
    if code is None:
        raise ValidationFailed.one(
            "industry",
            _("Unknown industry %(value)r: use a section letter A–T of GB/T 4754-2017 or its name.")
            % {"value": value},
        )
    found = industries.row(code)
    assert found is not None
    return found


SIZE_ALIASES = {
    "规上": Size.ABOVE,
    "规上企业": Size.ABOVE,
    "规模以上": Size.ABOVE,
    "规下": Size.BELOW,
    "规下企业": Size.BELOW,
    "规模以下": Size.BELOW,
    "在建项目": Size.CONSTRUCTION,
    "在建": Size.CONSTRUCTION,
    "拟落地项目": Size.PLANNED,
    "拟落地": Size.PLANNED,
}


def _size(value: str) -> str:
    raw = (value or "").strip()
    if raw in Size.values:
        return raw
    if raw in SIZE_ALIASES:
        return str(SIZE_ALIASES[raw])
    raise ValidationFailed.one(
        "size",
        _("Unknown size %(value)r; one of: 规上, 规下, 在建项目, 拟落地项目.") % {"value": raw},
    )


def township_of(value: str | None) -> Region | None:
    raw = (value or "").strip()
    if not raw:
        return None
    found = Region.objects.filter(Q(code=raw) | Q(name=raw), level=Region.Level.TOWNSHIP).first()
    if found is None:
        raise ValidationFailed.one(
            "township", _("Unknown township or street %(value)r.") % {"value": raw}
        )
    return found


def validate_enterprise(data: EnterpriseInput) -> dict[str, Any]:
    clean = collect(
        [
            ("credit_code", lambda: clean_credit_code(data.credit_code or "")),
            ("name", lambda: text(data.name, "name", required=True, limit=NAME_MAX)),
            ("industry", lambda: _industry(data.industry)),
            ("size", lambda: _size(data.size)),
            ("township", lambda: township_of(data.township)),
            ("address", lambda: text(data.address, "address", required=False, limit=ADDRESS_MAX)),
            (
                "contact_name",
                lambda: text(data.contact_name, "contact_name", required=False, limit=PERSON_MAX),
            ),
            (
                "contact_phone",
                lambda: (
                    clean_phone(data.contact_phone or "", "contact_phone")
                    if (data.contact_phone or "").strip()
                    else ""
                ),
            ),
        ]
    )
    if clean["contact_phone"] and not clean["contact_name"]:
        raise ValidationFailed.one("contact_name", _("Give the contact's name with the phone."))
    return clean


def save_enterprise(clean: dict[str, Any], existing: Enterprise | None) -> tuple[Enterprise, bool]:
    """Write one validated enterprise; returns it and whether anything changed."""
    fields = {k: clean[k] for k in ("name", "industry", "size", "township", "address")}
    changed = False
    if existing is None:
        enterprise = Enterprise.objects.create(credit_code=clean["credit_code"], **fields)
        changed = True
    else:
        enterprise = existing
        for key, value in fields.items():
            if getattr(enterprise, key) != value:
                setattr(enterprise, key, value)
                changed = True
        if changed:
            enterprise.save()
    if clean["contact_phone"]:
        contact = enterprise.contacts.filter(phone=clean["contact_phone"]).first()
        if contact is None:
            enterprise.contacts.update(primary=False)
            Contact.objects.create(
                enterprise=enterprise,
                name=clean["contact_name"],
                phone=clean["contact_phone"],
                primary=True,
            )
            changed = True
        elif contact.name != clean["contact_name"] or not contact.primary:
            enterprise.contacts.exclude(pk=contact.pk).update(primary=False)
            contact.name, contact.primary = clean["contact_name"], True
            contact.save()
            changed = True
    return enterprise, changed


@transaction.atomic
def enterprise_create(*, actor: User, data: EnterpriseInput) -> Enterprise:
    require(actor, rules.MANAGE_REGISTRY)
    clean = validate_enterprise(data)
    duplicate = Conflict(
        _("An enterprise with credit code %(code)s is already registered.")
        % {"code": clean["credit_code"]},
        code="duplicate",
    )
    if Enterprise.objects.filter(credit_code=clean["credit_code"]).exists():
        raise duplicate
    try:
        with transaction.atomic():  # two desks registering one code at once: a 409, not a 500
            enterprise, _changed = save_enterprise(clean, None)
    except IntegrityError:
        raise duplicate from None
    link_existing_appeals([enterprise])
    return enterprise


@transaction.atomic
def enterprise_update(*, actor: User, credit_code: str, data: EnterpriseInput) -> Enterprise:
    require(actor, rules.MANAGE_REGISTRY)
    existing = Enterprise.objects.select_for_update().filter(credit_code=credit_code).first()
    if existing is None:
        raise NotFound(_("No enterprise with credit code %(code)s.") % {"code": credit_code})
    data.credit_code = existing.credit_code
    enterprise, _changed = save_enterprise(validate_enterprise(data), existing)
    return enterprise


@transaction.atomic
def contact_add(
    *, actor: User, credit_code: str, name: str, phone: str, position: str = ""
) -> Contact:
    require(actor, rules.MANAGE_REGISTRY)
    enterprise = Enterprise.objects.filter(credit_code=credit_code).first()
    if enterprise is None:
        raise NotFound(_("No enterprise with credit code %(code)s.") % {"code": credit_code})
    clean = collect(
        [
            ("name", lambda: text(name, "name", required=True, limit=PERSON_MAX)),
            ("phone", lambda: clean_phone(phone or "", "phone")),
            ("position", lambda: text(position, "position", required=False, limit=PERSON_MAX)),
        ]
    )
    if enterprise.contacts.filter(phone=clean["phone"]).exists():
        raise Conflict(_("That phone is already a contact of this enterprise."), code="duplicate")
    return Contact.objects.create(
        enterprise=enterprise, primary=not enterprise.contacts.exists(), **clean
    )


def enterprise_for_code(value: str, field_name: str = "credit_code") -> Enterprise:
    """The registered enterprise with this credit code; a clear field error otherwise."""
    code = clean_credit_code(value or "", field_name)
    enterprise = (
        Enterprise.objects.select_related("industry", "township").filter(credit_code=code).first()
    )
    if enterprise is None:
        raise ValidationFailed.one(
            field_name,
            _(
                "Credit code %(code)s is not in the county's enterprise registry; "
                "ask the business environment office to register it."
            )
            % {"code": code},
        )
    return enterprise


def require_contact(enterprise: Enterprise, phone: str) -> None:
    """The public proves who they are with a registered contact phone (``phone`` cleaned)."""
    if not enterprise.contacts.filter(phone=phone).exists():
        raise ValidationFailed.one(
            "phone", _("That phone is not a registered contact of this enterprise.")
        )
