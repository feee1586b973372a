"""Demo data for serving enterprises: the registry, 包保 assignments, visits, past and coming
meetings, policies and one-to-many answers, all written through the real services.

Deterministic for a seed (names, codes, who, what); dates are relative to today. Problems (and so
appeals) are only made when ``with_appeals`` is true.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import random
from collections.abc import Iterator

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.utils import timezone
from stdnum.cn import uscc

from kuaiban.appeals import services as appeal_services
from kuaiban.appeals.models import Appeal, Status
from kuaiban.core import clock
from kuaiban.core.errors import DomainError
from kuaiban.enterprise import services
from kuaiban.enterprise.demo_data import (
    ALPHABET,
    CHAINS,
    CONTACT_NAMES,
    ENTERPRISES,
    FINDINGS,
    GROUPS,
    MEETING_TOPICS,
    MOBILE,
    PLACES,
    POLICIES,
    POSITIONS,
    PROBLEMS,
)
from kuaiban.enterprise.models import BaobaoRole, Enterprise, Meeting, MeetingKind
from kuaiban.org.demo import Directory
from kuaiban.org.models import Role, Unit, User


class _Stop(Exception):
    """A step would happen after now."""


def credit_code(rng: random.Random) -> str:
    body = "91330000" + "".join(rng.choice(ALPHABET) for _ in range(9))
    return str(body + uscc.calc_check_digit(body))


def mobile(rng: random.Random) -> str:
    return rng.choice(MOBILE) + "".join(rng.choice("0123456789") for _ in range(8))


def workday(day: dt.date) -> dt.date:
    """Meetings fall on a weekday: a Saturday or Sunday moves back to the Friday before."""
    return day - dt.timedelta(days=max(0, day.weekday() - 4))


def _leaders(d: Directory) -> list[User]:
    """The county leader from the directory plus two deputies who host meetings."""
    extra = [("leader-wang", "副县长 王海涛"), ("leader-zhou", "县委常委 周晓梅")]
    encoded = make_password(settings.KUAIBAN_DEMO_PASSWORD)
    leaders = [d.users["leader"]]
    for username, display in extra:
        user = User.objects.filter(username=username).first()
        if user is None:
            user = User(username=username, display_name=display, role=Role.LEADER)
            user.password = encoded
            user.save()
        leaders.append(user)
    return leaders


def load(directory: Directory, *, seed: int, with_appeals: bool) -> str:
    if Enterprise.objects.exists():
        return "Enterprises: already loaded."
    rng = random.Random(seed * 7 + 1)
    now = timezone.now()
    demo = _Demo(directory, rng, now, with_appeals)
    return demo.run()


class _Demo:
    def __init__(self, d: Directory, rng: random.Random, now: dt.datetime, with_appeals: bool):
        self.d = d
        self.rng = rng
        self.now = now
        self.with_appeals = with_appeals
        self.operator = d.users["operator"]
        self.supervisor = d.users["supervisor"]
        self.visitor = d.users["visitor"]
        self.admin = d.users["admin"]
        self.leaders = _leaders(d)
        self.problems = 0

    @contextlib.contextmanager
    def at(self, moment: dt.datetime) -> Iterator[None]:
        """Run the block with the clock pinned at ``moment``; refuse moments not yet come."""
        if moment >= self.now:
            raise _Stop
        with clock.frozen(moment):
            yield

    def local(self, day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
        return timezone.make_aware(dt.datetime.combine(day, dt.time(hour, minute)))

    def run(self) -> str:
        start = self.now - dt.timedelta(days=200)
        enterprises = self.registry(start)
        self.assignments(enterprises, start)
        self.policies(start)
        self.networks(enterprises, start)
        visits = self.visits(enterprises)
        meetings = self.meetings(enterprises)
        answers = self.answers() if self.with_appeals else 0
        return (
            f"Enterprises: {len(enterprises)} registered, {visits} visits, {meetings} meetings, "
            f"{len(POLICIES)} policies, {self.problems} problems as appeals, {answers} answers."
        )

    # -- registry and 包保 --------------------------------------------------------------------

    def registry(self, start: dt.datetime) -> list[Enterprise]:
        out = []
        for name, industry, size, town in ENTERPRISES:
            contact = self.rng.choice(CONTACT_NAMES)
            data = services.EnterpriseInput(
                credit_code=credit_code(self.rng),
                name=name,
                industry=industry,
                size=size,
                township=self.d.townships[town].code,
                address=self.address(town),
                contact_name=contact,
                contact_phone=mobile(self.rng),
            )
            with self.at(start):
                enterprise = services.enterprise_create(actor=self.admin, data=data)
            if self.rng.random() < 0.4:
                with self.at(start):
                    services.contact_add(
                        actor=self.admin,
                        credit_code=enterprise.credit_code,
                        name=self.rng.choice(CONTACT_NAMES),
                        phone=mobile(self.rng),
                        position=self.rng.choice(POSITIONS),
                    )
            out.append(enterprise)
        return out

    def address(self, town: str) -> str:
        road = self.rng.choice(["工业路", "兴业大道", "园区路"])
        return f"{self.d.townships[town].name}{road}{self.rng.randint(1, 200)}号"

    def assignments(self, enterprises: list[Enterprise], start: dt.datetime) -> None:
        """Every enterprise but every seventh has a liaison (业务骨干包联服务); every third
        enterprise above designated size has the full 四包: a county leader, the approval bureau
        and its township as the responsible unit besides."""
        officials = [self.d.users[f"handler-{c}"] for c in ("jfj", "xzsp", "zrzy", "rsj", "scjg")]
        for index, enterprise in enumerate(enterprises):
            if index % 7 == 6:
                continue  # some enterprises still lack an official: coverage below 100%
            official = officials[index % len(officials)]
            seats = [(official.username, BaobaoRole.SERVICE, "联络员")]
            if enterprise.size == "above" and index % 3 == 0:
                leader = self.leaders[index % len(self.leaders)]
                seats.append((leader.username, BaobaoRole.LEADER, "包保县领导"))
                if official.username != "handler-xzsp":
                    seats.append(("handler-xzsp", BaobaoRole.APPROVAL, "审批代办"))
                town = Unit.objects.filter(region=enterprise.township).first()
                if town is not None:
                    seats.append((f"handler-{town.code}", BaobaoRole.RESPONSIBLE, "项目推进"))
            for username, role, duty in seats:
                with self.at(start):
                    services.assignment_create(
                        actor=self.admin,
                        official=username,
                        enterprise=enterprise.credit_code,
                        duty=duty,
                        role=role,
                    )

    def networks(self, enterprises: list[Enterprise], start: dt.datetime) -> None:
        """The industry chains (their projects are linked by the projects demo) and the WeChat
        matrix groups, one per industry family."""
        by_name = {e.name: e.credit_code for e in enterprises}
        for name, leader, description, members in CHAINS:
            with self.at(start):
                services.chain_create(
                    actor=self.admin,
                    data=services.ChainInput(
                        name=name,
                        leader=leader,
                        description=description,
                        enterprises=[by_name[m] for m in members],
                    ),
                )
        for name, industry, member_industries in GROUPS:
            with self.at(start):
                services.group_save(
                    actor=self.admin,
                    data=services.GroupInput(
                        name=name,
                        industry=industry,
                        members=[
                            e.credit_code for e in enterprises if e.industry_id in member_industries
                        ],
                    ),
                )

    def policies(self, start: dt.datetime) -> None:
        year = timezone.localdate(self.now).year
        for title, number, unit, industries, text in POLICIES:
            data = services.PolicyInput(
                title=title,
                text=text,
                issuing_unit=unit,
                industries=industries,
                valid_from=dt.date(year - 1, 1, 1) if "农业" in title else dt.date(year, 1, 1),
                valid_to=dt.date(year + 2, 12, 31),
                document_number=number.format(year=year),
            )
            with self.at(start):
                services.policy_publish(actor=self.operator, data=data)

    # -- problems → appeals and their walk through the ledger ------------------------------------

    def problem(self, topic: str | None = None) -> tuple[str, str, str, str]:
        topic = topic or self.rng.choice(list(PROBLEMS))
        unit, texts, _replies = PROBLEMS[topic]
        title, content = self.rng.choice(texts)
        values = {
            "amount": self.rng.choice([200, 300, 500, 800, 1200]),
            "n": self.rng.randint(3, 40),
            "m": self.rng.randint(2, 5),
        }
        return topic, unit, title, content.format(**values)

    def walk(self, appeal: Appeal, topic: str, unit: str, t: dt.datetime) -> None:
        """Dispatch, claim, reply, visit and close: as far as the present allows."""
        number = appeal.number or ""
        handler = self.d.users[f"handler-{unit}"]
        rng = self.rng
        try:
            if appeal.status == Status.RECEIVED:
                t += dt.timedelta(hours=rng.uniform(1, 20))
                with self.at(t):
                    appeal_services.appeal_dispatch(actor=self.operator, number=number, unit=unit)
            t += dt.timedelta(hours=rng.uniform(0.5, 8))
            with self.at(t):
                appeal_services.appeal_claim(actor=handler, number=number)
            if rng.random() < 0.08:
                return
            t += dt.timedelta(days=rng.uniform(1, 12))
            reply = rng.choice(PROBLEMS[topic][2]).format(n=rng.randint(5, 20))
            with self.at(t):
                appeal_services.appeal_reply(
                    actor=handler, number=number, result="resolved", text=reply
                )
            t += dt.timedelta(days=rng.uniform(1, 3))
            with self.at(t):
                appeal_services.appeal_visit(
                    actor=self.visitor,
                    number=number,
                    data=appeal_services.VisitInput(
                        reached=True,
                        resolved=True,
                        satisfaction="satisfied",
                        authentic=True,
                        note="企业表示满意",
                    ),
                )
            t += dt.timedelta(days=rng.uniform(0.5, 3))
            with self.at(t):
                appeal_services.appeal_close(
                    actor=self.supervisor, number=number, note="核查无误，同意办结。"
                )
        except _Stop:
            return

    # -- visits ------------------------------------------------------------------------------

    def visits(self, enterprises: list[Enterprise]) -> int:
        made = 0
        today = timezone.localdate(self.now)
        for enterprise in enterprises:
            assignment = enterprise.assignments.filter(duty="联络员").first()
            if assignment is None or self.rng.random() < 0.25:
                continue
            official = assignment.official
            for _ in range(self.rng.randint(1, 3)):
                day = today - dt.timedelta(days=self.rng.randint(1, 170))
                moment = self.local(day, self.rng.randint(9, 16), self.rng.choice([0, 30]))
                problems = []
                topic = unit = ""
                if self.with_appeals and self.rng.random() < 0.45:
                    topic, unit, title, content = self.problem()
                    problems.append(services.ProblemInput(title=title, content=content))
                data = services.VisitInput(
                    visited_on=day,
                    findings=self.rng.choice(FINDINGS),
                    problems=problems,
                )
                try:
                    with self.at(moment):
                        visit = services.visit_record(
                            actor=official, credit_code=enterprise.credit_code, data=data
                        )
                except _Stop:
                    continue
                made += 1
                for link in visit.problems.select_related("appeal"):
                    self.problems += 1
                    self.walk(link.appeal, topic, unit, moment)
        return made

    # -- meetings ------------------------------------------------------------------------------

    def meetings(self, enterprises: list[Enterprise]) -> int:
        today = timezone.localdate(self.now)
        made = 0
        kinds = [MeetingKind.BREAKFAST] * 6 + [MeetingKind.BANK] * 2 + [MeetingKind.RECEPTION] * 2
        for index, kind in enumerate(kinds):
            day = workday(
                today - dt.timedelta(days=14 * (len(kinds) - index) + self.rng.randint(0, 4))
            )
            self.past_meeting(kind, day, index, enterprises)
            made += 1
        # Coming: one open for booking next week, one next month, one still a draft.
        for offset, kind, publish in (
            (6, MeetingKind.BREAKFAST, True),
            (27, MeetingKind.BANK, True),
            (40, MeetingKind.RECEPTION, False),
        ):
            day = workday(today + dt.timedelta(days=offset))
            meeting = self.schedule(kind, day, len(kinds) + offset, self.now)
            if publish:
                services.meeting_publish(actor=self.operator, meeting_id=meeting.pk)
                for enterprise in self.rng.sample(enterprises, self.rng.randint(3, 6)):
                    contact = enterprise.contacts.first()
                    services.booking_create(
                        meeting_id=meeting.pk,
                        credit_code=enterprise.credit_code,
                        phone=contact.phone if contact else mobile(self.rng),
                        contact_name=contact.name if contact else "",
                    )
            made += 1
        return made

    def schedule(self, kind: str, day: dt.date, index: int, when: dt.datetime) -> Meeting:
        topics = MEETING_TOPICS[MeetingKind(kind)]
        hosts = [self.leaders[index % len(self.leaders)].username]
        if kind == MeetingKind.RECEPTION:
            hosts = [u.username for u in self.leaders[:2]]
        data = services.MeetingInput(
            kind=kind,
            topic=topics[index % len(topics)],
            date=day,
            start_time=dt.time(7, 30) if kind == MeetingKind.BREAKFAST else dt.time(9, 0),
            end_time=dt.time(9, 0) if kind == MeetingKind.BREAKFAST else dt.time(11, 30),
            place=self.rng.choice(PLACES),
            hosts=hosts,
            capacity=self.rng.choice([10, 12, 15, 20]),
            booking_closes_at=self.local(day - dt.timedelta(days=1), 18),
        )
        with clock.frozen(when):
            return services.meeting_schedule(actor=self.operator, data=data)

    def past_meeting(
        self, kind: str, day: dt.date, index: int, enterprises: list[Enterprise]
    ) -> None:
        created = self.local(day - dt.timedelta(days=10), 10)
        meeting = self.schedule(kind, day, index, created)
        with self.at(created):
            services.meeting_publish(actor=self.operator, meeting_id=meeting.pk)
        guests = self.rng.sample(enterprises, min(meeting.capacity, self.rng.randint(6, 12)))
        for n, enterprise in enumerate(guests):
            contact = enterprise.contacts.first()
            moment = created + dt.timedelta(hours=2 + 9 * n)
            try:
                if n % 4 == 3:
                    with self.at(moment):
                        services.meeting_invite(
                            actor=self.operator,
                            meeting_id=meeting.pk,
                            credit_code=enterprise.credit_code,
                        )
                else:
                    with self.at(moment):
                        services.booking_create(
                            meeting_id=meeting.pk,
                            credit_code=enterprise.credit_code,
                            phone=contact.phone if contact else mobile(self.rng),
                            contact_name=contact.name if contact else "",
                        )
            except DomainError:
                continue
        came = [e.credit_code for e in guests if self.rng.random() < 0.9]
        held = self.local(day, 9, 30)
        with self.at(held):
            services.attendance_record(actor=self.operator, meeting_id=meeting.pk, attended=came)
        if not self.with_appeals:
            return
        for code in came:
            if self.rng.random() < 0.45:
                continue
            topic, unit, title, content = self.problem()
            moment = held + dt.timedelta(minutes=self.rng.randint(5, 90))
            with self.at(moment):
                appeal = services.meeting_problem(
                    actor=self.operator,
                    meeting_id=meeting.pk,
                    credit_code=code,
                    problem=services.ProblemInput(title=title, content=content, unit=unit),
                )
            self.problems += 1
            self.walk(appeal, topic, unit, moment)

    # -- one-to-many answers -------------------------------------------------------------------

    def answers(self) -> int:
        made = 0
        for topic in ("subsidies", "financing", "utilities"):
            replies = PROBLEMS[topic][2]
            candidate = (
                Appeal.objects.filter(
                    enterprise_link__topic=topic,
                    status__in=[Status.REPLIED, Status.VISITED, Status.CLOSED],
                    reply_text__in=replies,
                )
                .order_by("replied_at", "id")
                .first()
            )
            if candidate is None or candidate.replied_at is None:
                continue
            moment = candidate.replied_at + dt.timedelta(hours=3)
            try:
                with self.at(moment):
                    services.answer_promote(actor=self.operator, number=candidate.number or "")
            except (_Stop, DomainError):
                continue
            made += 1
        if made:
            self.waiting_at_the_desk()
        return made

    def waiting_at_the_desk(self) -> None:
        """Two fresh enterprise appeals like the promoted ones, left for the operator to dispatch:
        the desk shows them the published answers."""
        asks = [
            ("技改补贴申报条件", "我公司今年更新了两台数控机床，想了解技改补贴的申报条件和材料。"),
            ("流动资金贷款担保", "企业想申请流动资金贷款，银行要求担保，有没有担保费补贴和贴息？"),
        ]
        makers = list(Enterprise.objects.filter(industry_id="C").order_by("name")[:2])
        moment = self.now - dt.timedelta(hours=2)
        for enterprise, (title, content) in zip(makers, asks, strict=False):
            contact = enterprise.contacts.first()
            data = appeal_services.AppealInput(
                channel="wechat",
                kind="consultation",
                title=title,
                content=content,
                submitter_type="enterprise",
                submitter_name=contact.name if contact else "",
                submitter_phone=contact.phone if contact else "",
                enterprise_name=enterprise.name,
                credit_code=enterprise.credit_code,
            )
            with self.at(moment):
                appeal_services.appeal_register(actor=self.operator, data=data)
        services.link_existing_appeals(makers)
