"""The ledger (台账): appeals, their events, return visits and the category tree."""

from __future__ import annotations

import datetime as dt
import hmac
import secrets
from typing import ClassVar

from django.conf import settings
from django.db import models
from django.http import FileResponse
from django.utils.translation import gettext_lazy as _

from kuaiban.core import uploads
from kuaiban.org.models import Region, Unit

# The receipt's access code (查询码): no 0/O, 1/I/L, so it can be read out on the phone.
ACCESS_CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
ACCESS_CODE_LENGTH = 10  # 31^10 ≈ 8 × 10^14 codes


def new_access_code() -> str:
    return "".join(secrets.choice(ACCESS_CODE_ALPHABET) for _ in range(ACCESS_CODE_LENGTH))


def normalize_access_code(value: str) -> str:
    """What a person typed, as stored: upper case, without spaces or hyphens."""
    return "".join(c for c in value.upper() if c not in " -")


class Channel(models.TextChoices):
    HOTLINE = "hotline", _("12345 hotline")
    MAILBOX = "mailbox", _("Leaders' mailbox")
    DIRECT_LINE = "direct_line", _("Secretary direct line")
    GRID = "grid", _("Grid report")
    WECHAT = "wechat", _("Enterprise WeChat group")
    BREAKFAST = "breakfast", _("Breakfast meeting")
    PETITION = "petition", _("Petition visit")
    VISIT = "visit", _("Door-to-door visit")
    WEB = "web", _("Website")
    APP = "app", _("Mobile app")
    OPEN311 = "open311", _("Open311")
    INSPECTION = "inspection", _("Inspection")


class Kind(models.TextChoices):
    COMPLAINT = "complaint", _("Complaint")
    HELP = "help", _("Request for help")
    CONSULTATION = "consultation", _("Consultation")
    SUGGESTION = "suggestion", _("Suggestion")
    REPORT = "report", _("Report (confidential)")


CONFIDENTIAL_KINDS = frozenset({Kind.REPORT})


class Urgency(models.TextChoices):
    NORMAL = "normal", _("Normal")
    URGENT = "urgent", _("Urgent")
    EMERGENCY = "emergency", _("Emergency")


class SubmitterType(models.TextChoices):
    CITIZEN = "citizen", _("Citizen")
    ENTERPRISE = "enterprise", _("Enterprise")


class Status(models.TextChoices):
    RECEIVED = "received", _("Received")
    DISPATCHED = "dispatched", _("Dispatched")
    IN_PROGRESS = "in_progress", _("In progress")
    REPLIED = "replied", _("Replied")
    VISITED = "visited", _("Visited")
    CLOSED = "closed", _("Closed")
    MERGED = "merged", _("Merged")
    INVALID = "invalid", _("Invalid")


TERMINAL_STATUSES = frozenset({Status.CLOSED, Status.MERGED, Status.INVALID})
OPEN_STATUSES = frozenset(set(Status) - TERMINAL_STATUSES)


class Action(models.TextChoices):
    REGISTER = "register", _("Registered")
    DISPATCH = "dispatch", _("Dispatched")
    CLAIM = "claim", _("Claimed")
    RETURN = "return", _("Returned")
    REPLY = "reply", _("Replied")
    ANSWER = "answer", _("Answered at intake")
    VISIT = "visit", _("Return visit")
    VISIT_ATTEMPT = "visit_attempt", _("Return visit not reached")
    REWORK = "rework", _("Sent back for rework")
    CLOSE = "close", _("Closed")
    MERGE = "merge", _("Merged")
    MERGED_IN = "merged_in", _("Another appeal merged in")
    INVALIDATE = "invalidate", _("Marked invalid")
    NOTE = "note", _("Note")
    SUPPORT = "support", _("Another person raised the same problem")
    ATTACH = "attach", _("Files added")
    ASSIST_CLAIM = "assist_claim", _("Co-unit part claimed")
    ASSIST = "assist", _("Co-unit answered its part")
    ESCALATE = "escalate", _("Escalated to an upper-level platform")
    PETITION_NOTICE = "petition_notice", _("Written notice of acceptance given")
    REVIEW_REQUEST = "review_request", _("Review requested")
    REVIEW_DECIDE = "review_decide", _("Review opinion given")
    DELEGATE = "delegate", _("Delegated down")
    WHISTLE = "whistle", _("Whistle blown")
    REPORT = "report", _("Department reported")
    RESOLVE_ON_SPOT = "resolve_on_spot", _("Resolved on the spot")


# The moves of a co-unit's part: legal in the statuses below, but they leave the appeal's status.
PART_ACTIONS = frozenset({Action.ASSIST_CLAIM, Action.ASSIST, Action.WHISTLE, Action.REPORT})
# A petition's own steps (《信访工作条例》): the notice of acceptance, and the review (复查) and
# re-examination (复核) a dissatisfied petitioner asks for. They leave the appeal's status too.
PETITION_ACTIONS = frozenset({Action.PETITION_NOTICE, Action.REVIEW_REQUEST, Action.REVIEW_DECIDE})

# The one table of legal moves: action → statuses it may start from. The target status of
# each action is fixed in the service that performs it.
ALLOWED_TRANSITIONS: dict[str, frozenset[str]] = {
    Action.DISPATCH: frozenset({Status.RECEIVED}),
    Action.CLAIM: frozenset({Status.DISPATCHED}),
    Action.RETURN: frozenset({Status.DISPATCHED, Status.IN_PROGRESS}),
    Action.REPLY: frozenset({Status.IN_PROGRESS}),
    Action.ANSWER: frozenset({Status.RECEIVED}),
    Action.VISIT: frozenset({Status.REPLIED}),
    Action.REWORK: frozenset({Status.VISITED}),
    Action.CLOSE: frozenset({Status.VISITED}),
    Action.MERGE: frozenset({Status.RECEIVED, Status.DISPATCHED, Status.IN_PROGRESS}),
    Action.INVALIDATE: frozenset({Status.RECEIVED, Status.DISPATCHED}),
    # A co-unit's part (AssistPart) moves while the lead holds the appeal; the appeal's own
    # status does not change.
    Action.ASSIST_CLAIM: frozenset({Status.DISPATCHED, Status.IN_PROGRESS}),
    Action.ASSIST: frozenset({Status.DISPATCHED, Status.IN_PROGRESS}),
    # Reporting an open appeal up to the city or provincial platform (上报): a record and a
    # message upstream; the appeal's own status does not change.
    Action.ESCALATE: frozenset(
        {Status.RECEIVED, Status.DISPATCHED, Status.IN_PROGRESS, Status.REPLIED, Status.VISITED}
    ),
    # 受理告知 comes before the handling opinion; 复查/复核 follow the written reply, also after
    # the appeal was closed.
    Action.PETITION_NOTICE: frozenset({Status.RECEIVED, Status.DISPATCHED, Status.IN_PROGRESS}),
    Action.REVIEW_REQUEST: frozenset({Status.REPLIED, Status.VISITED, Status.CLOSED}),
    Action.REVIEW_DECIDE: frozenset({Status.REPLIED, Status.VISITED, Status.CLOSED}),
    # A township hands it down to one of its villages or grids (下派), or takes it back:
    # the new lead claims it anew; the reply deadline stays.
    Action.DELEGATE: frozenset({Status.DISPATCHED, Status.IN_PROGRESS}),
    # 网格吹哨、部门报到: a village or grid leading the appeal names departments; each reports
    # (acknowledges) and then co-handles it. The appeal's status does not change.
    Action.WHISTLE: frozenset({Status.DISPATCHED, Status.IN_PROGRESS}),
    Action.REPORT: frozenset({Status.DISPATCHED, Status.IN_PROGRESS}),
    # 就地解决: the grid worker of the grid leading it settles it there and then: replied.
    Action.RESOLVE_ON_SPOT: frozenset({Status.DISPATCHED, Status.IN_PROGRESS}),
}
# Legal moves that leave the appeal's status as it is.
STATUSLESS_ACTIONS = PART_ACTIONS | PETITION_ACTIONS | {Action.ESCALATE}
# The actions whose event moves an appeal to a status (registration and the moves above), in
# Action's order: what the public portal shows and what a webhook can subscribe to.
STATUS_ACTIONS: tuple[str, ...] = tuple(
    a
    for a in Action.values
    if a == Action.REGISTER or (a in ALLOWED_TRANSITIONS and a not in STATUSLESS_ACTIONS)
)


class ReplyResult(models.TextChoices):
    RESOLVED = "resolved", _("Resolved")
    PARTLY = "partly", _("Partly resolved")
    UNRESOLVED = "unresolved", _("Cannot be resolved")


class Satisfaction(models.TextChoices):
    SATISFIED = "satisfied", _("Satisfied")
    BASIC = "basic", _("Basically satisfied")
    DISSATISFIED = "dissatisfied", _("Dissatisfied")


# Which deadline runs in which status (the sweep watches exactly these).
DEADLINE_STATUS: dict[str, str] = {
    "dispatched": "claim",
    "in_progress": "reply",
    "replied": "visit",
}


class Alert(models.TextChoices):
    NONE = "none", _("On time")
    YELLOW = "yellow", _("Due soon")
    RED = "red", _("Overdue")


class Category(models.Model):
    """The configurable subject tree (事项分类), three levels deep by default."""

    code = models.CharField(_("code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=100)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    level = models.PositiveSmallIntegerField(_("level"), default=1)
    default_unit = models.ForeignKey(
        Unit,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        verbose_name=_("default lead unit"),
        help_text=_("The dispatch catalogue's lead unit for this subject."),
    )

    class Meta:
        ordering: ClassVar = ["code"]
        verbose_name = _("category")
        verbose_name_plural = _("categories")
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["parent", "name"], name="category_unique_name")
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def top(self) -> Category:
        node = self
        while node.parent is not None:
            node = node.parent
        return node


class Appeal(models.Model):
    number = models.CharField(_("tracking number"), max_length=32, unique=True, null=True)
    channel = models.CharField(_("channel"), max_length=16, choices=Channel.choices)
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    urgency = models.CharField(
        _("urgency"), max_length=16, choices=Urgency.choices, default=Urgency.NORMAL
    )
    title = models.CharField(_("title"), max_length=120, blank=True)
    content = models.TextField(_("content"))
    search_text = models.TextField(editable=False, default="")
    category = models.ForeignKey(
        Category, null=True, blank=True, on_delete=models.PROTECT, verbose_name=_("category")
    )

    submitter_type = models.CharField(
        _("submitter type"),
        max_length=16,
        choices=SubmitterType.choices,
        default=SubmitterType.CITIZEN,
    )
    submitter_name = models.CharField(_("submitter name"), max_length=100, blank=True)
    submitter_phone = models.CharField(_("phone"), max_length=20, blank=True)
    submitter_id_number = models.CharField(_("ID number"), max_length=18, blank=True)
    enterprise_name = models.CharField(_("enterprise name"), max_length=200, blank=True)
    credit_code = models.CharField(_("unified social credit code"), max_length=18, blank=True)
    phone_last4 = models.CharField(max_length=4, blank=True, editable=False)
    # Given on the receipt; with the number it opens the public tracking page (/track/).
    access_code = models.CharField(
        _("access code"), max_length=ACCESS_CODE_LENGTH, default=new_access_code, editable=False
    )

    region = models.ForeignKey(
        Region, null=True, blank=True, on_delete=models.PROTECT, verbose_name=_("region")
    )
    address = models.CharField(_("address"), max_length=200, blank=True)
    # Where it happened, as a WGS-84 point (a map pin, Open311's lat/long); empty when unknown.
    lat = models.DecimalField(_("latitude"), max_digits=9, decimal_places=6, null=True, blank=True)
    lng = models.DecimalField(_("longitude"), max_digits=9, decimal_places=6, null=True, blank=True)
    # People who joined this appeal instead of filing their own ("我也遇到了").
    supporter_count = models.PositiveIntegerField(_("supporters"), default=0, editable=False)
    occurred_at = models.DateTimeField(_("occurred at"), null=True, blank=True)
    group_size = models.PositiveIntegerField(_("people in group visit"), null=True, blank=True)

    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.RECEIVED
    )
    lead_unit = models.ForeignKey(
        Unit,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="led_appeals",
        verbose_name=_("lead unit"),
    )
    # The township that delegated the appeal down to one of its villages or grids (下派) and
    # keeps oversight of it: it sees it as the lead does, and may hand it to another of its
    # villages or take it back (both ``delegate``). Empty when nobody delegated it.
    overseer_unit = models.ForeignKey(
        Unit,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="overseen_appeals",
        verbose_name=_("overseeing unit"),
    )
    co_units = models.ManyToManyField(
        Unit, blank=True, related_name="co_appeals", verbose_name=_("co-handling units")
    )
    handler = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="handled_appeals",
        verbose_name=_("handler"),
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="registered_appeals",
        verbose_name=_("created by"),
    )
    merged_into = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="merged_appeals"
    )

    reply_result = models.CharField(
        _("reply result"), max_length=16, choices=ReplyResult.choices, blank=True
    )
    reply_text = models.TextField(_("reply"), blank=True)
    # 就地解决: a grid worker resolved it on the spot (a reply of its own kind, counted apart).
    resolved_on_spot = models.BooleanField(_("resolved on the spot"), default=False)
    invalid_reason = models.CharField(_("reason"), max_length=500, blank=True)
    return_count = models.PositiveSmallIntegerField(default=0)
    rework_count = models.PositiveSmallIntegerField(default=0)

    received_at = models.DateTimeField(_("received at"), db_index=True)
    dispatched_at = models.DateTimeField(null=True, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    replied_at = models.DateTimeField(null=True, blank=True)
    visited_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    claim_due = models.DateTimeField(_("claim by"), null=True, blank=True)
    reply_due = models.DateTimeField(_("reply by"), null=True, blank=True)
    # The latest the reply may be due, set by whoever sent the appeal down (an upper-level
    # platform's own deadline, 上级转办): the reply clock is the earlier of it and the limit.
    reply_due_cap = models.DateTimeField(
        _("upstream deadline"),
        null=True,
        blank=True,
        help_text=_("The reply deadline never lies after it (an upper-level platform's)."),
    )
    visit_due = models.DateTimeField(_("visit by"), null=True, blank=True)
    alert = models.CharField(
        _("alert"), max_length=8, choices=Alert.choices, default=Alert.NONE, db_index=True
    )
    # Deadline clocks (kuaiban.deadlines): when each deadline turns yellow, and which deadline the
    # current alert is about. ``alert_due`` is the sweep's "already warned" marker: it raises an
    # alert once per (stage, deadline), and a deadline that moves (an extension) is watched anew.
    claim_warn_at = models.DateTimeField(null=True, blank=True, editable=False)
    reply_warn_at = models.DateTimeField(null=True, blank=True, editable=False)
    visit_warn_at = models.DateTimeField(null=True, blank=True, editable=False)
    alert_stage = models.CharField(max_length=8, blank=True, editable=False)
    alert_due = models.DateTimeField(null=True, blank=True, editable=False)
    extension_count = models.PositiveSmallIntegerField(_("extensions"), default=0, editable=False)
    # A petition's written notice of acceptance (受理告知): due from receipt when the limits
    # table gives the channel a notice clock, stamped when it is given.
    notice_due = models.DateTimeField(_("notice of acceptance by"), null=True, blank=True)
    noticed_at = models.DateTimeField(_("notice of acceptance given"), null=True, blank=True)

    # Head of this appeal's event hash chain; `audit verify` checks it against the last event.
    last_event_hash = models.CharField(max_length=64, blank=True, editable=False)
    event_count = models.PositiveIntegerField(default=0, editable=False)
    # Not a field: the events ``services.record_event`` appended through this instance, oldest
    # first, so the registration answer can show the history without reading it back.
    recorded_events: list[AppealEvent]

    class Meta:
        ordering: ClassVar = ["-received_at", "-id"]
        verbose_name = _("appeal")
        verbose_name_plural = _("appeals")
        indexes: ClassVar = [
            models.Index(fields=["status", "-received_at", "-id"], name="appeal_status_recv"),
            models.Index(fields=["lead_unit", "status", "-received_at"], name="appeal_unit_status"),
            models.Index(fields=["-received_at", "-id"], name="appeal_recv_id"),
            models.Index(fields=["number", "phone_last4"], name="appeal_track"),
            # The sweep's range scans: each clock runs in one status, and only appeals not yet
            # red (for the deadline) or still quiet (for the warning) are worth looking at, so
            # a sweep with nothing to do reads a few index pages, not every overdue appeal.
            *(
                index
                for stage, status in (
                    ("claim", "dispatched"),
                    ("reply", "in_progress"),
                    ("visit", "replied"),
                )
                for index in (
                    models.Index(
                        fields=[f"{stage}_due"],
                        condition=models.Q(status=status) & ~models.Q(alert="red"),
                        name=f"appeal_{stage}_due_unred",
                    ),
                    models.Index(
                        fields=[f"{stage}_warn_at"],
                        condition=models.Q(status=status, alert="none"),
                        name=f"appeal_{stage}_warn_quiet",
                    ),
                )
            ),
        ]

    def __str__(self) -> str:
        return self.number or f"#{self.pk}"

    @property
    def access_code_display(self) -> str:
        """The access code in two groups of five, as printed on the receipt."""
        return f"{self.access_code[:5]}-{self.access_code[5:]}"

    def access_code_matches(self, typed: str) -> bool:
        """Constant-time comparison of a typed code with this appeal's."""
        given = normalize_access_code(typed).encode()
        return bool(self.access_code) and hmac.compare_digest(given, self.access_code.encode())

    @property
    def is_confidential(self) -> bool:
        return self.kind in CONFIDENTIAL_KINDS

    @property
    def is_open(self) -> bool:
        return self.status not in TERMINAL_STATUSES

    @property
    def clock(self) -> str:
        """The deadline that runs now: claim, reply or visit ('' when none does)."""
        return DEADLINE_STATUS.get(self.status, "")

    @property
    def next_due(self) -> dt.datetime | None:
        stage = self.clock
        return getattr(self, f"{stage}_due") if stage else None


class AppealEvent(models.Model):
    """One append-only line of an appeal's history, chained by hash to the one before it."""

    appeal = models.ForeignKey(Appeal, on_delete=models.PROTECT, related_name="events")
    seq = models.PositiveIntegerField()
    at = models.DateTimeField(db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT
    )
    actor_label = models.CharField(max_length=100, blank=True)
    action = models.CharField(max_length=32)
    from_status = models.CharField(max_length=16, blank=True)
    to_status = models.CharField(max_length=16, blank=True)
    note = models.TextField(blank=True)
    payload = models.JSONField(default=dict, blank=True)
    prev_hash = models.CharField(max_length=64, blank=True)
    hash = models.CharField(max_length=64)
    # How ``hash`` was made: "" plain SHA-256 (every event before keyed hashing existed),
    # "hmac-sha256" keyed with AUDIT_KEY (see kuaiban.appeals.audit).
    hash_scheme = models.CharField(max_length=16, blank=True, default="")

    class Meta:
        ordering: ClassVar = ["appeal_id", "seq"]
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["appeal", "seq"], name="event_appeal_seq")
        ]
        indexes: ClassVar = [models.Index(fields=["action", "at"], name="event_action_at")]

    def __str__(self) -> str:
        return f"{self.appeal_id}#{self.seq} {self.action}"


class LedgerAnchor(models.Model):
    """A daily seal over every appeal's chain head, chained to the day before.

    ``heads_digest`` is SHA-256 over ``id:event_count:last_event_hash`` of every appeal with
    an event at or below ``max_event_id``, in id order; ``digest`` seals it with the day, the
    counts and the previous anchor's digest (keyed with AUDIT_KEY when set). An appeal deleted
    with all its events, or a chain rewritten, no longer reproduces the anchors that saw it;
    the bulletin prints the latest digest so it can be reconciled outside the database.
    """

    day = models.DateField(unique=True)
    made_at = models.DateTimeField()
    appeal_count = models.PositiveIntegerField()
    max_appeal_id = models.BigIntegerField()
    max_event_id = models.BigIntegerField()
    heads_digest = models.CharField(max_length=64)
    prev_digest = models.CharField(max_length=64, blank=True)
    digest = models.CharField(max_length=64)
    hash_scheme = models.CharField(max_length=16, blank=True, default="")

    class Meta:
        ordering: ClassVar = ["day"]

    def __str__(self) -> str:
        return f"{self.day} {self.digest[:16]}"


class Visit(models.Model):
    """One return-visit attempt (回访)."""

    appeal = models.ForeignKey(Appeal, on_delete=models.PROTECT, related_name="visits")
    at = models.DateTimeField()
    visitor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT)
    reached = models.BooleanField(_("reached"))
    resolved = models.BooleanField(_("resolved"), null=True)
    satisfaction = models.CharField(
        _("satisfaction"), max_length=16, choices=Satisfaction.choices, blank=True
    )
    authentic = models.BooleanField(_("unit really contacted the submitter"), null=True)
    note = models.TextField(_("note"), blank=True)

    class Meta:
        ordering: ClassVar = ["appeal_id", "at"]

    def __str__(self) -> str:
        return f"{self.appeal_id} {self.at:%Y-%m-%d}"


class AttachmentStage(models.TextChoices):
    INTAKE = "intake", _("at registration")
    REPLY = "reply", _("with the reply")
    VISIT = "visit", _("on the return visit")
    LATER = "later", _("added later")
    ASSIST = "assist", _("with a co-unit's part")


class Attachment(models.Model):
    """A photo or document of an appeal, stored once per content (kuaiban.core.uploads).

    ``event`` is the step it came with, whose sealed payload lists its SHA-256. ``public``: the
    submitter may see it on the public pages (the unit's "after" photos); never for a report.
    """

    appeal = models.ForeignKey(Appeal, on_delete=models.PROTECT, related_name="attachments")
    event = models.ForeignKey(
        AppealEvent, on_delete=models.PROTECT, related_name="attachments", null=True
    )
    stage = models.CharField(_("stage"), max_length=8, choices=AttachmentStage.choices)
    public = models.BooleanField(_("shown to the submitter"), default=False)
    # The file's name in STORAGES["attachments"] (kuaiban.core.uploads.store), looked up there
    # when it is served, so the storage can be changed without touching the rows.
    stored_as = models.CharField(max_length=120)
    name = models.CharField(_("file name"), max_length=120)
    content_type = models.CharField(max_length=40)
    size = models.PositiveIntegerField()
    width = models.PositiveIntegerField(null=True)
    height = models.PositiveIntegerField(null=True)
    sha256 = models.CharField(max_length=64)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    uploaded_at = models.DateTimeField()

    class Meta:
        ordering: ClassVar = ["appeal_id", "id"]

    def __str__(self) -> str:
        return f"{self.appeal_id} {self.name}"

    @property
    def is_image(self) -> bool:
        return self.content_type.startswith("image/")

    def read(self) -> bytes:
        with uploads.storage().open(self.stored_as, "rb") as f:
            return f.read()

    def response(self) -> FileResponse:
        return uploads.file_response(
            self.stored_as, content_type=self.content_type, filename=self.name
        )


class Supporter(models.Model):
    """A person who joined an appeal about the problem they also have ("我也遇到了").

    Told the appeal's public steps by SMS as the submitter is (never its access code); counted in
    ``Appeal.supporter_count``. Their phone is proven by an SMS code when they join.
    """

    appeal = models.ForeignKey(Appeal, on_delete=models.PROTECT, related_name="supporters")
    phone = models.CharField(_("phone"), max_length=20)
    joined_at = models.DateTimeField(_("joined"))

    class Meta:
        ordering: ClassVar = ["appeal_id", "joined_at"]
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["appeal", "phone"], name="supporter_appeal_phone")
        ]

    def __str__(self) -> str:
        return f"{self.appeal_id} +{self.phone[-4:]}"


class PartStatus(models.TextChoices):
    # Named by a whistle (吹哨), not yet reported (报到): the department must acknowledge it
    # by ``report_due``; then the part is open like a dispatch's.
    SUMMONED = "summoned", _("Waiting for the department to report")
    OPEN = "open", _("Waiting for the co-unit")
    CLAIMED = "claimed", _("Claimed by the co-unit")
    ANSWERED = "answered", _("Answered")
    # The dispatch it belonged to was undone (the appeal was returned): kept as history.
    WITHDRAWN = "withdrawn", _("Withdrawn")


class PartWarning(models.TextChoices):
    """The last warning the sweep sent about a part's current deadline."""

    NONE = "", _("Not warned")
    YELLOW = "yellow", _("Due soon")
    RED = "red", _("Overdue")


# The parts the lead is still waiting for.
PART_PENDING = frozenset({PartStatus.SUMMONED, PartStatus.OPEN, PartStatus.CLAIMED})


class AssistPart(models.Model):
    """A co-handling unit's own share of an appeal (协办): created by dispatch for each co-unit
    (or by a village's or grid's whistle for each department it names, which reports first),
    claimed and answered by that unit's handlers under its own deadline; the lead consolidates
    the parts into the reply. A return withdraws the parts of the dispatch it undoes."""

    appeal = models.ForeignKey(Appeal, on_delete=models.CASCADE, related_name="parts")
    unit = models.ForeignKey(
        Unit, on_delete=models.PROTECT, related_name="assist_parts", verbose_name=_("co-unit")
    )
    status = models.CharField(
        _("status"), max_length=16, choices=PartStatus.choices, default=PartStatus.OPEN
    )
    created_at = models.DateTimeField()
    due = models.DateTimeField(_("part due"))
    # A part called in by a whistle (吹哨): report (报到) by then; empty for a dispatch's part.
    report_due = models.DateTimeField(_("report by"), null=True, blank=True)
    reported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("reported by"),
    )
    reported_at = models.DateTimeField(_("reported at"), null=True, blank=True)
    claimed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("claimed by"),
    )
    claimed_at = models.DateTimeField(null=True, blank=True)
    text = models.TextField(_("opinion"), blank=True)
    result = models.CharField(_("result"), max_length=16, choices=ReplyResult.choices, blank=True)
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("answered by"),
    )
    answered_at = models.DateTimeField(null=True, blank=True)
    # When the part's next warning is due (empty once none is left, or the part stopped
    # waiting), what was last warned and for which deadline: kept by assist.part_arm wherever
    # the status or a deadline is set, so the sweep selects only the parts it must warn.
    warn_at = models.DateTimeField(null=True, blank=True, editable=False)
    warned = models.CharField(
        max_length=8, choices=PartWarning.choices, blank=True, default="", editable=False
    )
    warned_due = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering: ClassVar = ["appeal_id", "id"]
        verbose_name = _("co-unit part")
        verbose_name_plural = _("co-unit parts")
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["appeal", "unit"],
                condition=~models.Q(status="withdrawn"),
                name="assistpart_one_live_per_unit",
            )
        ]
        indexes: ClassVar = [
            models.Index(fields=["unit", "status", "due"], name="assistpart_unit_status_due"),
            models.Index(fields=["status", "warn_at"], name="assistpart_status_warn_at"),
        ]

    def __str__(self) -> str:
        return f"{self.appeal_id} {self.unit_id} {self.status}"

    @property
    def is_pending(self) -> bool:
        return self.status in PART_PENDING

    @property
    def on_time(self) -> bool | None:
        """Whether it was answered by its deadline (None while unanswered)."""
        if self.answered_at is None:
            return None
        return self.answered_at <= self.due


class ReviewLevel(models.TextChoices):
    REVIEW = "review", _("Review (复查)")
    RECHECK = "recheck", _("Re-examination (复核)")


class ReviewOutcome(models.TextChoices):
    UPHELD = "upheld", _("Handling opinion upheld")
    CHANGED = "changed", _("Handling opinion changed")


class PetitionReview(models.Model):
    """A petitioner's request against a petition's handling opinion (复查), or against the
    review's opinion (复核), each its own stage with its own deadline from the limits table."""

    appeal = models.ForeignKey(Appeal, on_delete=models.PROTECT, related_name="reviews")
    level = models.CharField(_("review level"), max_length=8, choices=ReviewLevel.choices)
    requested_at = models.DateTimeField(_("requested at"))
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    reason = models.TextField(_("reason"))
    due = models.DateTimeField(_("opinion due"))
    opinion = models.TextField(_("review opinion"), blank=True)
    outcome = models.CharField(
        _("outcome"), max_length=8, choices=ReviewOutcome.choices, blank=True
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering: ClassVar = ["appeal_id", "requested_at"]
        verbose_name = _("petition review")
        verbose_name_plural = _("petition reviews")
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["appeal", "level"], name="petitionreview_one_per_level")
        ]

    def __str__(self) -> str:
        return f"{self.appeal_id} {self.level}"

    @property
    def on_time(self) -> bool | None:
        if self.decided_at is None:
            return None
        return self.decided_at <= self.due
