"""The public front door: a person registers an appeal themselves, without an account.

The one cleaner is registration's own (``appeals.services.validate_input``); around it the
front door adds what a desk does not need: the entrance, the phone proven by a one-time SMS
code, anonymous reports, and a throttle per client address. Every refusal is a 4xx naming the
field, and nothing is written before every check has passed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import IO

from django.conf import settings
from django.utils.translation import gettext as _

from kuaiban.appeals import services
from kuaiban.appeals.models import Appeal, Kind, SubmitterType
from kuaiban.core import throttle, uploads
from kuaiban.core.errors import FieldError, NotFound, ValidationFailed
from kuaiban.core.validation import clean_phone
from kuaiban.notify.codes import code_verify
from kuaiban.portal.models import Entrance

# Kinds a person may choose at the front door (the desk's other kinds need an operator).
PUBLIC_KINDS = (Kind.COMPLAINT, Kind.HELP, Kind.CONSULTATION, Kind.SUGGESTION, Kind.REPORT)


@dataclass(frozen=True)
class Submission:
    kind: str
    content: str
    title: str = ""
    category: str = ""
    name: str = ""
    phone: str = ""
    code: str = ""
    anonymous: bool = False
    address: str = ""
    lat: str | float | None = None
    lng: str | float | None = None
    entrance: str = ""
    # The uploaded photo files as received; checked and re-encoded here (core.uploads).
    photos: Sequence[IO[bytes]] = ()


def entrance_get(slug: str | None) -> Entrance:
    """An open entrance by its address; none given: the first open one (the website)."""
    entrances = Entrance.objects.filter(active=True)
    entrance = entrances.filter(slug=slug).first() if slug else entrances.first()
    if entrance is None:
        raise NotFound(_("No such entrance."))
    return entrance


def _subjects(client: str) -> tuple[throttle.Subject, ...]:
    return (
        throttle.Subject(
            "public-submit:addr-hour", client, int(settings.KUAIBAN_PUBLIC_SUBMITS_PER_HOUR), 3600
        ),
    )


def public_submit(sub: Submission, *, client: str) -> Appeal:
    """Register ``sub`` from the public client at address ``client``.

    A named appeal needs ``phone`` and the SMS ``code`` sent to it (the code is spent here); a
    report (举报) may instead be ``anonymous``: no name and no phone, and the receipt's access
    code is then the only key to it. Throttled per client address (429).
    """
    entrance = entrance_get(sub.entrance or None)
    subjects = _subjects(client or "unknown")
    throttle.check(
        *subjects,
        message=_("Too many submissions from here: try again in %(seconds)d seconds."),
        field="content",
    )
    if sub.kind not in PUBLIC_KINDS:
        raise ValidationFailed.one("kind", _("Choose what kind of appeal this is."))
    errors: list[FieldError] = []
    photos: tuple[uploads.Upload, ...] = ()
    try:
        photos = uploads.prepare_all(
            sub.photos,
            field="photos",
            limit=int(settings.KUAIBAN_PHOTOS_PER_APPEAL),
            images_only=True,
        )
    except ValidationFailed as exc:
        errors.extend(exc.errors)
    if sub.anonymous:
        if sub.kind != Kind.REPORT:
            errors.append(FieldError("anonymous", _("Only a report may be made anonymously.")))
        name, phone = "", ""
    else:
        name, phone = sub.name, sub.phone
        if not phone.strip():
            errors.append(FieldError("phone", _("Enter your mobile number.")))
        if not sub.code.strip():
            errors.append(FieldError("code", _("Enter the 6-digit code from the SMS.")))
    data = services.AppealInput(
        channel=entrance.channel,
        kind=sub.kind,
        title=sub.title,
        content=sub.content,
        category=sub.category or None,
        submitter_type=SubmitterType.CITIZEN,
        submitter_name=name,
        submitter_phone=phone,
        address=sub.address,
        lat=sub.lat,
        lng=sub.lng,
        files=photos,
    )
    try:
        services.validate_input(data)
    except ValidationFailed as exc:
        errors = [*exc.errors, *errors]
    if errors:
        raise ValidationFailed(errors)
    if not sub.anonymous:
        # Outside the registration's transaction: a wrong code is counted even though the 400
        # escapes (see code_verify); a right one is spent only once every field has passed.
        data = replace(data, submitter_phone=code_verify(phone, sub.code))
    appeal = services.appeal_register(
        actor=None, data=data, extra_payload={"entrance": entrance.slug}
    )
    throttle.fail(*subjects)  # counts this submission against the address
    return appeal


def public_support(*, number: str, phone: str, code: str, client: str) -> Appeal:
    """Join the open, public appeal ``number`` as one more person with the same problem.

    The phone is proven by its SMS code, spent only once the appeal is known to be joinable
    (a closed or confidential appeal, or an unknown number, answers before the code is
    touched). Throttled with the submissions of the same address.
    """
    subjects = _subjects(client or "unknown")
    throttle.check(
        *subjects,
        message=_("Too many submissions from here: try again in %(seconds)d seconds."),
        field="phone",
    )
    appeal = Appeal.objects.filter(number=number).first()
    if appeal is None or appeal.is_confidential:
        raise NotFound(_("No such appeal."))
    services.check_joinable(appeal)
    errors: list[FieldError] = []
    if not phone.strip():
        errors.append(FieldError("phone", _("Enter your mobile number.")))
    if not code.strip():
        errors.append(FieldError("code", _("Enter the 6-digit code from the SMS.")))
    if errors:
        raise ValidationFailed(errors)
    services.check_joinable(appeal, clean_phone(phone, "phone"))
    joined = services.appeal_support(number=number, phone=code_verify(phone, code))
    throttle.fail(*subjects)
    return joined


def supporters_of(appeal: Appeal) -> list[str]:
    """The phones told of ``appeal``'s steps besides its submitter's (notify.hooks.also_tell)."""
    if not appeal.supporter_count:
        return []
    return list(appeal.supporters.values_list("phone", flat=True))
