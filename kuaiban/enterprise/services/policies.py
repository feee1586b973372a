"""The policy library (惠企政策) and one-to-many answers ("solve one, solve the class")."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.db import transaction
from django.utils.translation import gettext as _

from kuaiban.appeals import policy as appeal_policy
from kuaiban.appeals.models import Action, Appeal, Status, SubmitterType
from kuaiban.appeals.services import record_event
from kuaiban.core import clock
from kuaiban.core.errors import Conflict, FieldError, NotFound, ValidationFailed
from kuaiban.core.validation import clean_phone
from kuaiban.enterprise import industries, rules, topics
from kuaiban.enterprise.models import (
    Answer,
    Enterprise,
    EnterpriseAppeal,
    Industry,
    Notice,
    Policy,
)
from kuaiban.enterprise.services.checks import collect, require
from kuaiban.enterprise.services.checks import text as clean_text
from kuaiban.enterprise.services.registry import enterprise_for_code, require_contact
from kuaiban.org.models import Unit, User

TITLE_MAX = 200
TEXT_MAX = 20000
REPLIED = frozenset({Status.REPLIED, Status.VISITED, Status.CLOSED})


@dataclass
class PolicyInput:
    title: str
    text: str
    issuing_unit: str
    valid_from: dt.date | None
    valid_to: dt.date | None = None
    industries: list[str] = field(default_factory=list)
    document_number: str = ""


def _industries(values: list[str]) -> list[Industry]:
    codes = []
    for value in values:
        code = industries.resolve(value)
        if code is None:
            raise ValidationFailed.one(
                "industries", _("Unknown industry %(value)r.") % {"value": value}
            )
        codes.append(code)
    return list(industries.rows().filter(code__in=codes))


@transaction.atomic
def policy_publish(*, actor: User, data: PolicyInput) -> Policy:
    require(actor, rules.PUBLISH_POLICIES)

    def unit() -> Unit:
        found = Unit.objects.filter(code=(data.issuing_unit or "").strip(), active=True).first()
        if found is None:
            raise ValidationFailed.one(
                "issuing_unit", _("Unknown unit %(code)r.") % {"code": data.issuing_unit}
            )
        return found

    def valid_from() -> dt.date:
        if data.valid_from is None:
            raise ValidationFailed.one("valid_from", _("This field is required."))
        return data.valid_from

    clean = collect(
        [
            ("title", lambda: clean_text(data.title, "title", required=True, limit=TITLE_MAX)),
            ("text", lambda: clean_text(data.text, "text", required=True, limit=TEXT_MAX)),
            (
                "document_number",
                lambda: clean_text(
                    data.document_number, "document_number", required=False, limit=100
                ),
            ),
            ("issuing_unit", unit),
            ("valid_from", valid_from),
            ("industries", lambda: _industries(data.industries)),
        ]
    )
    if data.valid_to is not None and data.valid_to < clean["valid_from"]:
        raise ValidationFailed.one("valid_to", _("Must not be before the start of validity."))
    chosen = clean.pop("industries")
    item = Policy.objects.create(
        **clean, valid_to=data.valid_to, created_by=actor, published_at=clock.now()
    )
    item.industries.set(chosen)
    return item


def _enterprise_of(appeal: Appeal) -> Enterprise | None:
    link = EnterpriseAppeal.objects.filter(appeal=appeal).select_related("enterprise").first()
    if link is not None:
        return link.enterprise
    if appeal.credit_code:
        return Enterprise.objects.filter(credit_code=appeal.credit_code).first()
    return None


@transaction.atomic
def answer_promote(
    *,
    actor: User,
    number: str,
    industry: str | None = None,
    title: str | None = None,
    text: str | None = None,
) -> Answer:
    """Publish a unit's reply to an enterprise appeal as the answer for an industry; every
    enterprise of that industry gets a notice, and the appeal's history records it."""
    require(actor, rules.PROMOTE_ANSWERS)
    appeal = (
        Appeal.objects.select_for_update(of=("self",)).filter(number=(number or "").strip()).first()
    )
    if appeal is None or not appeal_policy.can_see(actor, appeal):
        raise NotFound(_("No appeal numbered %(number)s.") % {"number": number})
    enterprise = _enterprise_of(appeal)
    if appeal.submitter_type != SubmitterType.ENTERPRISE and enterprise is None:
        raise Conflict(_("Only replies to enterprise appeals can be promoted."), code="wrong_kind")
    if appeal.status not in REPLIED or not appeal.reply_text:
        raise Conflict(_("The unit has not replied to this appeal yet."), code="wrong_status")
    target, clean = _promotion(appeal, enterprise, industry=industry, title=title, text=text)
    if Answer.objects.filter(source_appeal=appeal, industry=target).exists():
        raise Conflict(
            _("This reply is already published for %(industry)s.") % {"industry": target.name},
            code="duplicate",
        )
    now = clock.now()
    answer = Answer.objects.create(
        source_appeal=appeal,
        industry=target,
        title=clean["title"],
        question=appeal.content,
        text=clean["text"],
        topic=topics.classify(f"{appeal.title}\n{appeal.content}"),
        published_by=actor,
        published_at=now,
    )
    told = [
        Notice(answer=answer, enterprise_id=pk, told_at=now)
        for pk in Enterprise.objects.filter(industry=target).values_list("pk", flat=True)
    ]
    Notice.objects.bulk_create(told)
    record_event(
        appeal,
        actor=actor,
        action=Action.NOTE,
        note=_("Reply published as the answer for %(industry)s; %(n)d enterprises told.")
        % {"industry": target.name, "n": len(told)},
        payload={"answer": answer.pk, "industry": target.code, "told": len(told)},
    )
    appeal.save(update_fields=["event_count", "last_event_hash", "updated_at"])
    return answer


def _promotion(
    appeal: Appeal,
    enterprise: Enterprise | None,
    *,
    industry: str | None,
    title: str | None,
    text: str | None,
) -> tuple[Industry, dict[str, str]]:
    """The industry to publish to (given, or the enterprise's) and the cleaned title and text
    (given, or the appeal's own); every problem at once."""
    errors: list[FieldError] = []
    target: Industry | None = None
    if industry:
        target = industries.row(industry)
        if target is None:
            errors.append(
                FieldError("industry", _("Unknown industry %(value)r.") % {"value": industry})
            )
    elif enterprise is not None:
        target = enterprise.industry
    else:
        errors.append(FieldError("industry", _("Choose the industry to publish the answer to.")))
    clean: dict[str, str] = {}
    try:
        clean = collect(
            [
                (
                    "title",
                    lambda: clean_text(
                        title or appeal.title or appeal.content[:40],
                        "title",
                        required=True,
                        limit=TITLE_MAX,
                    ),
                ),
                (
                    "text",
                    lambda: clean_text(
                        text or appeal.reply_text, "text", required=True, limit=TEXT_MAX
                    ),
                ),
            ]
        )
    except ValidationFailed as exc:
        errors.extend(exc.errors)
    if errors:
        raise ValidationFailed(errors)
    assert target is not None
    return target, clean


def enterprise_for_contact(*, credit_code: str, phone: str) -> Enterprise:
    """The public proves who they are with the credit code and a registered contact phone."""
    clean = collect(
        [
            ("credit_code", lambda: enterprise_for_code(credit_code)),
            ("phone", lambda: clean_phone(phone or "")),
        ]
    )
    enterprise: Enterprise = clean["credit_code"]
    require_contact(enterprise, clean["phone"])
    return enterprise


@transaction.atomic
def notices_read(*, enterprise: Enterprise) -> int:
    """Mark the enterprise's notices read (it has opened its notice box)."""
    return Notice.objects.filter(enterprise=enterprise, read_at__isnull=True).update(
        read_at=clock.now()
    )
