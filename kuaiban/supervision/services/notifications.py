"""In-app notifications and their e-mail copies.

A notification is stored in the same transaction as the change it reports, idempotently (one per
recipient and key). E-mail goes out after commit through Django's configured e-mail backend,
one message per recipient and batch; what could not be sent stays pending and the next sweep
tries again.
"""

from __future__ import annotations

import datetime as dt
import logging
import smtplib
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.db import transaction
from django.db.models import Q
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from kuaiban.appeals import policy
from kuaiban.appeals.models import Appeal
from kuaiban.core import clock
from kuaiban.core.errors import NotFound
from kuaiban.org.models import Role, User
from kuaiban.supervision.models import Notification, SupervisionOrder

log = logging.getLogger(__name__)
Kind = Notification.Kind


# ----- recipients -------------------------------------------------------------------------------


def supervisors() -> list[User]:
    return list(User.objects.filter(role=Role.SUPERVISOR, is_active=True))


def unit_heads(unit_id: int | None) -> list[User]:
    if unit_id is None:
        return []
    return list(User.objects.filter(unit_id=unit_id, is_unit_head=True, is_active=True))


def unit_handlers(unit_id: int | None) -> list[User]:
    if unit_id is None:
        return []
    return list(User.objects.filter(unit_id=unit_id, role=Role.HANDLER, is_active=True))


def visitors() -> list[User]:
    return list(User.objects.filter(role=Role.VISITOR, is_active=True))


def administrators() -> list[User]:
    return list(User.objects.filter(Q(role=Role.ADMIN) | Q(is_superuser=True), is_active=True))


# ----- writing ----------------------------------------------------------------------------------


def build(
    recipients: Iterable[User],
    *,
    kind: str,
    key: str,
    params: dict[str, Any],
    url: str = "",
    appeal: Appeal | None = None,
    order: SupervisionOrder | None = None,
    now: dt.datetime | None = None,
) -> list[Notification]:
    """Unsaved notifications, one per distinct active recipient. A notification about a
    confidential report (举报) goes only to those who can open it (policy.can_see): its number
    and title are news to anyone else."""
    now = now or clock.now()
    subject = appeal if appeal is not None else (order.appeal if order is not None else None)
    confidential = subject is not None and subject.is_confidential
    seen: set[int] = set()
    rows: list[Notification] = []
    for user in recipients:
        if user.pk in seen or not user.is_active:
            continue
        if confidential and not policy.can_see(user, subject):  # type: ignore[arg-type]
            continue
        seen.add(user.pk)
        rows.append(
            Notification(
                recipient=user,
                kind=kind,
                key=key[:160],
                params=params,
                url=url,
                appeal=appeal,
                order=order,
                created_at=now,
                mail=Notification.Mail.PENDING if user.email else Notification.Mail.SKIP,
            )
        )
    return rows


def save(rows: list[Notification], *, mail: bool = True) -> None:
    """Store notifications (duplicates by recipient and key are dropped); with ``mail``, send
    their e-mails once the transaction commits (the sweep sends them in one go at its end)."""
    if not rows:
        return
    Notification.objects.bulk_create(rows, ignore_conflicts=True, batch_size=1000)
    if mail and any(r.mail == Notification.Mail.PENDING for r in rows):
        transaction.on_commit(mail_pending)


def notify(recipients: Iterable[User], *, mail: bool = True, **fields: Any) -> None:
    save(build(recipients, **fields), mail=mail)


# ----- reading and marking ----------------------------------------------------------------------


def _fmt(value: Any) -> str:
    if not value:
        return "—"
    try:
        moment = dt.datetime.fromisoformat(str(value))
    except ValueError:
        return str(value)
    if timezone.is_naive(moment):
        return f"{moment:%Y-%m-%d}"
    return f"{timezone.localtime(moment):%m-%d %H:%M}"


def stage_label(stage: str) -> str:
    return {
        "claim": _("claim"),
        "reply": _("reply"),
        "visit": _("return visit"),
        "assist": _("co-unit part"),
        "report": _("report (报到)"),
    }.get(stage, stage)


def text(n: Notification) -> str:
    """The notice in the active language (rendered when shown, not when stored)."""
    p: dict[str, Any] = {
        **n.params,
        "due": _fmt(n.params.get("due")),
        "stage": stage_label(str(n.params.get("stage", ""))),
    }
    messages: dict[str, str] = {
        Kind.ALERT_YELLOW: _("%(number)s: the %(stage)s deadline %(due)s is near."),
        Kind.ALERT_RED: _("%(number)s is overdue: the %(stage)s deadline was %(due)s."),
        Kind.EXTENSION_REQUESTED: _("%(unit)s asks to extend %(number)s to %(due)s: %(reason)s"),
        Kind.EXTENSION_APPROVED: _("Extension of %(number)s approved: reply by %(due)s."),
        Kind.EXTENSION_REFUSED: _("Extension of %(number)s refused: %(note)s"),
        Kind.ORDER_ISSUED: _("Supervision order %(order)s for %(unit)s: answer by %(due)s."),
        Kind.ORDER_ANSWERED: _("%(unit)s answered supervision order %(order)s."),
        Kind.ORDER_CLOSED: _("Supervision order %(order)s was closed."),
        Kind.ORDER_REOPENED: _(
            "The answer to supervision order %(order)s was sent back: answer by %(due)s."
        ),
        Kind.ORDER_OVERDUE: _("Supervision order %(order)s for %(unit)s is overdue (%(due)s)."),
        Kind.ARBITRATION: _("%(number)s was returned twice: a supervisor must dispatch it."),
        Kind.DISPATCHED: _("%(number)s was dispatched to %(unit)s: claim it by %(due)s."),
        Kind.ARBITRATED: _(
            "The supervisors arbitrated %(number)s to %(unit)s: claim it by %(due)s; it can no "
            "longer be returned."
        ),
        Kind.CO_HANDLE: _(
            "%(unit)s is asked to co-handle %(number)s: answer your part by %(due)s."
        ),
        Kind.REWORK: _(
            "%(number)s came back for rework after a dissatisfied return visit: reply again by "
            "%(due)s."
        ),
        Kind.CALENDAR_UNKNOWN: _(
            "The installed chinese-calendar does not know %(year)s: working days fall back to "
            "weekends only. Upgrade the package or enter the holiday notice as calendar days."
        ),
        Kind.SPIKE: _(
            "Spike: %(count)s appeals about %(category)s in %(township)s on %(day)s, against "
            "%(baseline)s a day over the previous four weeks."
        ),
    }
    template = messages.get(n.kind)
    if template is None:
        return str(n.kind)
    try:
        return template % defaultdict(str, p)
    except (KeyError, TypeError, ValueError):
        return str(n.get_kind_display())


@transaction.atomic
def notification_read(*, actor: User, notification_id: int) -> Notification:
    n = Notification.objects.filter(pk=notification_id, recipient=actor).first()
    if n is None:
        raise NotFound(_("No such notification."))
    if n.read_at is None:
        n.read_at = clock.now()
        n.save(update_fields=["read_at"])
    return n


@transaction.atomic
def notifications_read_all(*, actor: User) -> int:
    return Notification.objects.filter(recipient=actor, read_at__isnull=True).update(
        read_at=clock.now()
    )


# ----- e-mail -----------------------------------------------------------------------------------


def _site_url() -> str:
    return str(getattr(settings, "KUAIBAN_SITE_URL", "")).rstrip("/")


def _message(user: User, rows: list[Notification]) -> EmailMessage:
    with translation.override(settings.LANGUAGE_CODE):
        lines = [f"- {text(n)}" + (f"\n  {_site_url()}{n.url}" if n.url else "") for n in rows]
        if len(rows) == 1:
            subject = _("[Kuaiban] %(text)s") % {"text": text(rows[0])[:80]}
        else:
            subject = _("[Kuaiban] %(n)d new notifications") % {"n": len(rows)}
        body = "\n".join(
            [_("Hello %(name)s,") % {"name": user.label}, "", *lines, "", _("— Kuaiban")]
        )
    return EmailMessage(subject=subject, body=body, to=[user.email])


def mail_pending(limit: int = 500) -> int:
    """Send pending notification e-mails (one per recipient); returns how many were sent.

    Rows are claimed with ``SELECT … FOR UPDATE SKIP LOCKED`` so two sweepers never send the same
    notice twice. A failing mail server leaves them pending for the next try.
    """
    sent = 0
    while True:
        with transaction.atomic():
            batch = list(
                Notification.objects.select_for_update(skip_locked=True, of=("self",))
                .filter(mail=Notification.Mail.PENDING)
                .select_related("recipient")
                .order_by("id")[:limit]
            )
            if not batch:
                return sent
            by_user: dict[int, list[Notification]] = defaultdict(list)
            for n in batch:
                by_user[n.recipient_id].append(n)
            messages = [_message(rows[0].recipient, rows) for rows in by_user.values()]
            try:
                with get_connection() as connection:
                    connection.send_messages(messages)
            except (smtplib.SMTPException, OSError) as exc:
                log.warning("notification e-mail failed, will retry: %s", exc)
                return sent
            Notification.objects.filter(pk__in=[n.pk for n in batch]).update(
                mail=Notification.Mail.SENT, mailed_at=clock.now()
            )
            sent += len(messages)
        if len(batch) < limit:
            return sent
