"""Serving enterprises (为企优环境): the registry, 包保 assignments, visits, meetings, policies and
one-to-many answers. Appeals stay in the ledger; this app links them to enterprises."""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from kuaiban.appeals.models import Appeal
from kuaiban.org.models import Region, Unit


class Industry(models.Model):
    """A section (门类) of GB/T 4754-2017, loaded from :mod:`kuaiban.enterprise.industries`."""

    code = models.CharField(_("code"), max_length=1, primary_key=True)
    name = models.CharField(_("name"), max_length=50)
    name_en = models.CharField(max_length=80, blank=True)

    class Meta:
        ordering: ClassVar = ["code"]
        verbose_name = _("industry")
        verbose_name_plural = _("industries")

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class Size(models.TextChoices):
    ABOVE = "above", _("Above designated size")
    BELOW = "below", _("Below designated size")
    CONSTRUCTION = "construction", _("Project under construction")
    PLANNED = "planned", _("Project about to land")


class Enterprise(models.Model):
    credit_code = models.CharField(_("unified social credit code"), max_length=18, unique=True)
    name = models.CharField(_("name"), max_length=200)
    industry = models.ForeignKey(Industry, on_delete=models.PROTECT, verbose_name=_("industry"))
    size = models.CharField(_("size"), max_length=16, choices=Size.choices)
    township = models.ForeignKey(
        Region, null=True, blank=True, on_delete=models.PROTECT, verbose_name=_("township")
    )
    address = models.CharField(_("address"), max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering: ClassVar = ["name", "id"]
        verbose_name = _("enterprise")
        verbose_name_plural = _("enterprises")
        indexes: ClassVar = [models.Index(fields=["industry", "size"], name="ent_industry_size")]

    def __str__(self) -> str:
        return self.name


class Contact(models.Model):
    enterprise = models.ForeignKey(Enterprise, on_delete=models.CASCADE, related_name="contacts")
    name = models.CharField(_("contact"), max_length=50)
    position = models.CharField(_("position"), max_length=50, blank=True)
    phone = models.CharField(_("phone"), max_length=20)
    primary = models.BooleanField(_("primary contact"), default=False)

    class Meta:
        ordering: ClassVar = ["-primary", "id"]
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["enterprise", "phone"], name="contact_unique_phone")
        ]

    def __str__(self) -> str:
        return f"{self.name} {self.phone}"


class BaobaoRole(models.TextChoices):
    """The four roles of 四包 on an enterprise's 包保 (商南's 四包机制): each held by one active
    assignment at a time. An assignment without a role is a plain 包保 (projects, liaison)."""

    LEADER = "leader", _("County leader: solves the hard problems")  # 县级领导包解难题
    APPROVAL = "approval", _("Approval unit: handles the procedures")  # 审批部门包办手续
    RESPONSIBLE = "responsible", _("Responsible unit: drives the progress")  # 责任单位包抓进度
    SERVICE = "service", _("Service cadre: stays in touch and serves")  # 业务骨干包联服务


# The roles an official holds on behalf of a unit (the unit is stored on the assignment).
UNIT_ROLES = frozenset({BaobaoRole.APPROVAL, BaobaoRole.RESPONSIBLE})


class Assignment(models.Model):
    """包保: an official (any user) looks after an enterprise or a livelihood project, on an
    enterprise optionally in one of the four roles of 四包 (``role``; ``unit`` for the approval
    and responsible units)."""

    official = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="baobao_assignments",
        verbose_name=_("official"),
    )
    enterprise = models.ForeignKey(
        Enterprise, null=True, blank=True, on_delete=models.CASCADE, related_name="assignments"
    )
    project = models.ForeignKey(
        "projects.Project",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="assignments",
    )
    duty = models.CharField(_("duty"), max_length=50, blank=True)
    role = models.CharField(
        _("四包 role"), max_length=16, choices=BaobaoRole.choices, blank=True, default=""
    )
    unit = models.ForeignKey(
        Unit,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="baobao_assignments",
        verbose_name=_("for unit"),
    )
    assigned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )
    assigned_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering: ClassVar = ["-assigned_at", "-id"]
        constraints: ClassVar = [
            models.CheckConstraint(
                condition=(models.Q(enterprise__isnull=False, project__isnull=True))
                | (models.Q(enterprise__isnull=True, project__isnull=False)),
                name="assignment_one_target",
            ),
            models.UniqueConstraint(
                fields=["official", "enterprise"],
                condition=models.Q(ended_at__isnull=True, enterprise__isnull=False),
                name="assignment_active_enterprise",
            ),
            models.UniqueConstraint(
                fields=["official", "project"],
                condition=models.Q(ended_at__isnull=True, project__isnull=False),
                name="assignment_active_project",
            ),
            # One holder per 四包 role of an enterprise at a time.
            models.UniqueConstraint(
                fields=["enterprise", "role"],
                condition=models.Q(ended_at__isnull=True, enterprise__isnull=False)
                & ~models.Q(role=""),
                name="assignment_active_role",
            ),
            models.CheckConstraint(
                condition=models.Q(role="") | models.Q(enterprise__isnull=False),
                name="assignment_role_on_enterprise",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.official} → {self.enterprise or self.project}"


class EnterpriseVisit(models.Model):
    """走访: officials call on an enterprise; each problem found becomes an appeal."""

    enterprise = models.ForeignKey(Enterprise, on_delete=models.PROTECT, related_name="visits")
    visited_on = models.DateField(_("visited on"))
    visitors = models.ManyToManyField(
        settings.AUTH_USER_MODEL, related_name="enterprise_visits", verbose_name=_("visitors")
    )
    findings = models.TextField(_("what was found"))
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField()

    class Meta:
        ordering: ClassVar = ["-visited_on", "-id"]
        indexes: ClassVar = [models.Index(fields=["visited_on"], name="ent_visit_date")]

    def __str__(self) -> str:
        return f"{self.enterprise} {self.visited_on}"


class MeetingKind(models.TextChoices):
    BREAKFAST = "breakfast", _("Government–enterprise breakfast meeting")
    BANK = "bank", _("Bank–enterprise matchmaking meeting")
    RECEPTION = "reception", _("Entrepreneurs' reception day")


class MeetingStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    PUBLISHED = "published", _("Open for booking")
    CLOSED = "closed", _("Booking closed")
    HELD = "held", _("Held")
    CANCELLED = "cancelled", _("Cancelled")


class Meeting(models.Model):
    kind = models.CharField(_("meeting kind"), max_length=16, choices=MeetingKind.choices)
    topic = models.CharField(_("topic"), max_length=200)
    date = models.DateField(_("date"))
    start_time = models.TimeField(_("start time"))
    end_time = models.TimeField(_("end time"), null=True, blank=True)
    place = models.CharField(_("place"), max_length=200)
    hosts = models.ManyToManyField(
        settings.AUTH_USER_MODEL, related_name="hosted_meetings", verbose_name=_("host leaders")
    )
    capacity = models.PositiveSmallIntegerField(_("capacity"))
    booking_closes_at = models.DateTimeField(_("booking closes at"))
    status = models.CharField(
        _("status"), max_length=16, choices=MeetingStatus.choices, default=MeetingStatus.DRAFT
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("created by"),
    )
    created_at = models.DateTimeField()
    published_at = models.DateTimeField(null=True, blank=True)
    held_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering: ClassVar = ["-date", "-start_time", "-id"]
        indexes: ClassVar = [models.Index(fields=["status", "date"], name="meeting_status_date")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.date:%Y-%m-%d} {self.topic}"


class BookingSource(models.TextChoices):
    PUBLIC = "public", _("Booked on the public page")
    INVITED = "invited", _("Invited")


class Booking(models.Model):
    meeting = models.ForeignKey(Meeting, on_delete=models.CASCADE, related_name="bookings")
    enterprise = models.ForeignKey(Enterprise, on_delete=models.PROTECT, related_name="bookings")
    phone = models.CharField(_("phone"), max_length=20)
    contact_name = models.CharField(_("contact"), max_length=50, blank=True)
    source = models.CharField(max_length=16, choices=BookingSource.choices)
    booked_at = models.DateTimeField()
    attended = models.BooleanField(_("attended"), default=False)
    attendance_recorded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering: ClassVar = ["booked_at", "id"]
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["meeting", "enterprise"], name="booking_once")
        ]

    def __str__(self) -> str:
        return f"{self.meeting_id} {self.enterprise}"


class Topic(models.TextChoices):
    FINANCING = "financing", _("Financing")
    UTILITIES = "utilities", _("Water, power and gas")
    LABOUR = "labour", _("Labour")
    SUBSIDIES = "subsidies", _("Subsidies")
    LAND = "land", _("Land")
    PROPERTY = "property", _("Property registration")
    CONSTRUCTION = "construction", _("Project construction")
    SALES = "sales", _("Market sales")
    OTHER = "other", _("Other")


class LinkSource(models.TextChoices):
    CREDIT_CODE = "credit_code", _("Credit code on the appeal")
    VISIT = "visit", _("Found on a visit")
    MEETING = "meeting", _("Raised at a meeting")
    GROUP = "group", _("Raised in a WeChat group")


class EnterpriseAppeal(models.Model):
    """Links a ledger appeal to an enterprise (and to the visit or meeting it came from)."""

    appeal = models.OneToOneField(Appeal, on_delete=models.CASCADE, related_name="enterprise_link")
    enterprise = models.ForeignKey(
        Enterprise, on_delete=models.CASCADE, related_name="appeal_links"
    )
    source = models.CharField(max_length=16, choices=LinkSource.choices)
    visit = models.ForeignKey(
        EnterpriseVisit, null=True, blank=True, on_delete=models.PROTECT, related_name="problems"
    )
    meeting = models.ForeignKey(
        Meeting, null=True, blank=True, on_delete=models.PROTECT, related_name="problems"
    )
    group = models.ForeignKey(
        "EnterpriseGroup",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="problems",
    )
    topic = models.CharField(_("topic"), max_length=16, choices=Topic.choices)
    linked_at = models.DateTimeField()

    class Meta:
        ordering: ClassVar = ["-linked_at", "-id"]
        indexes: ClassVar = [models.Index(fields=["topic"], name="ent_appeal_topic")]

    def __str__(self) -> str:
        return f"{self.appeal_id} → {self.enterprise_id}"


class Policy(models.Model):
    """惠企政策: a published enterprise policy, for some industries (none chosen: all)."""

    title = models.CharField(_("title"), max_length=200)
    document_number = models.CharField(_("document number"), max_length=100, blank=True)
    text = models.TextField(_("text"))
    issuing_unit = models.ForeignKey(
        Unit, on_delete=models.PROTECT, related_name="policies", verbose_name=_("issuing unit")
    )
    industries = models.ManyToManyField(Industry, blank=True, verbose_name=_("industries"))
    valid_from = models.DateField(_("valid from"))
    valid_to = models.DateField(_("valid to"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("created by"),
    )
    published_at = models.DateTimeField()

    class Meta:
        ordering: ClassVar = ["-valid_from", "-id"]
        verbose_name = _("enterprise policy")
        verbose_name_plural = _("enterprise policies")

    def __str__(self) -> str:
        return self.title


class Answer(models.Model):
    """A unit's reply to one enterprise appeal, promoted to an answer for a whole industry."""

    source_appeal = models.ForeignKey(
        Appeal, on_delete=models.PROTECT, related_name="promoted_answers"
    )
    industry = models.ForeignKey(Industry, on_delete=models.PROTECT, related_name="answers")
    title = models.CharField(_("title"), max_length=200)
    question = models.TextField(_("question"))
    text = models.TextField(_("answer"))
    topic = models.CharField(_("topic"), max_length=16, choices=Topic.choices)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    published_at = models.DateTimeField()

    class Meta:
        ordering: ClassVar = ["-published_at", "-id"]
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["source_appeal", "industry"], name="answer_once_per_industry"
            )
        ]

    def __str__(self) -> str:
        return self.title


class Notice(models.Model):
    """The record that one enterprise was told of one answer (its in-app notice)."""

    answer = models.ForeignKey(Answer, on_delete=models.CASCADE, related_name="notices")
    enterprise = models.ForeignKey(Enterprise, on_delete=models.CASCADE, related_name="notices")
    told_at = models.DateTimeField()
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering: ClassVar = ["-told_at", "-id"]
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["answer", "enterprise"], name="notice_once")
        ]

    def __str__(self) -> str:
        return f"{self.answer_id} → {self.enterprise_id}"


class IndustryChain(models.Model):
    """产业链: a county leader (链长) answers for a chain of enterprises and the projects along it
    (商南's 县级领导包联产业链). The projects are the ``projects`` app's, referred to by name: that
    app builds on this one."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    leader = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="led_chains",
        verbose_name=_("chain leader"),
    )
    description = models.TextField(_("description"), blank=True)
    enterprises = models.ManyToManyField(
        Enterprise, blank=True, related_name="chains", verbose_name=_("enterprises")
    )
    projects = models.ManyToManyField(
        "projects.Project", blank=True, related_name="chains", verbose_name=_("projects")
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("created by"),
    )
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        ordering: ClassVar = ["name", "id"]
        verbose_name = _("industry chain")
        verbose_name_plural = _("industry chains")

    def __str__(self) -> str:
        return self.name


class EnterpriseGroup(models.Model):
    """微信矩阵群: one WeChat group of enterprises of an industry (谯城's eight groups), where a
    problem raised is an appeal and one answer can serve the whole group. ``webhook_url``: the
    group's bot (its adapter), told of answers for the class through a signed webhook."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    industry = models.ForeignKey(
        Industry, on_delete=models.PROTECT, related_name="groups", verbose_name=_("industry")
    )
    members = models.ManyToManyField(
        Enterprise, blank=True, related_name="wechat_groups", verbose_name=_("members")
    )
    webhook_url = models.URLField(_("group webhook URL"), max_length=500, blank=True)
    webhook_secret = models.CharField(max_length=100, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("created by"),
    )
    created_at = models.DateTimeField()

    class Meta:
        ordering: ClassVar = ["industry_id", "name", "id"]
        verbose_name = _("WeChat group")
        verbose_name_plural = _("WeChat groups")

    def __str__(self) -> str:
        return self.name


class WebhookState(models.TextChoices):
    NONE = "none", _("No group webhook")
    QUEUED = "queued", _("Queued")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")


class GroupAnswer(models.Model):
    """An answer posted in a WeChat group to a problem raised there: to the raising enterprise,
    or for the class (面向全群) to every member's contacts by SMS and to the group's webhook."""

    group = models.ForeignKey(EnterpriseGroup, on_delete=models.PROTECT, related_name="answers")
    appeal = models.ForeignKey(Appeal, on_delete=models.PROTECT, related_name="group_answers")
    text = models.TextField(_("answer"))
    for_class = models.BooleanField(_("for the whole group"), default=False)
    posted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    posted_at = models.DateTimeField()
    enterprises_told = models.PositiveIntegerField(default=0)
    sms_count = models.PositiveIntegerField(default=0)
    webhook_state = models.CharField(
        max_length=8, choices=WebhookState.choices, default=WebhookState.NONE
    )
    webhook_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    webhook_error = models.CharField(max_length=300, blank=True)
    webhook_sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering: ClassVar = ["-posted_at", "-id"]

    def __str__(self) -> str:
        return f"{self.group_id} {self.appeal_id}"
