"""The demo's enterprise and project parts: through the real services, deterministic."""

from __future__ import annotations

from typing import Any

import pytest
from stdnum.cn import uscc

from kuaiban.appeals.models import Appeal
from kuaiban.enterprise import demo as enterprise_demo
from kuaiban.enterprise import selectors
from kuaiban.enterprise.models import (
    Answer,
    Assignment,
    Booking,
    Contact,
    Enterprise,
    EnterpriseAppeal,
    EnterpriseGroup,
    EnterpriseVisit,
    GroupAnswer,
    IndustryChain,
    Meeting,
    Notice,
    Policy,
)
from kuaiban.projects import demo as projects_demo
from kuaiban.projects.models import ProgressUpdate, Project

pytestmark = pytest.mark.django_db


def wipe() -> None:
    for model in (GroupAnswer, IndustryChain, EnterpriseGroup):
        model.objects.all().delete()
    for model in (Notice, Answer, EnterpriseAppeal, Booking, Meeting, EnterpriseVisit):
        model.objects.all().delete()
    for model in (Assignment, Contact, Policy, Enterprise):
        model.objects.all().delete()


def test_without_appeals_the_demo_creates_no_appeals_and_is_deterministic(county: Any) -> None:
    summary = enterprise_demo.load(county, seed=2026, with_appeals=False)
    assert "42 registered" in summary
    assert not Appeal.objects.exists()
    first = sorted(Enterprise.objects.values_list("credit_code", "name"))
    assert all(uscc.is_valid(code) for code, _name in first)
    assert Assignment.objects.filter(enterprise__isnull=False).count() > 30
    assert Meeting.objects.filter(status="held").count() == 10
    assert Meeting.objects.filter(status="published").count() == 2
    assert Policy.objects.count() == 8
    # 四包: every seat of the four is filled somewhere, one holder per role and enterprise.
    assert set(Assignment.objects.exclude(role="").values_list("role", flat=True)) == {
        "leader",
        "approval",
        "responsible",
        "service",
    }
    assert not Assignment.objects.filter(role="leader").exclude(official__role="leader")
    chains = {c.name: c for c in IndustryChain.objects.all()}
    assert set(chains) == {"新能源汽车零部件产业链", "食品加工产业链"}
    assert chains["食品加工产业链"].enterprises.filter(name="瑞丰食品有限公司").exists()
    makers = EnterpriseGroup.objects.get(name="制造业企业服务群")
    assert makers.members.count() == Enterprise.objects.filter(industry_id="C").count()
    cov = selectors.coverage()
    assert 0 < cov["assigned_pct"] < 100
    assert enterprise_demo.load(county, seed=2026, with_appeals=False).endswith("already loaded.")

    wipe()
    enterprise_demo.load(county, seed=2026, with_appeals=False)
    assert sorted(Enterprise.objects.values_list("credit_code", "name")) == first


def test_with_appeals_meetings_carry_problems_and_projects_their_progress(county: Any) -> None:
    summary = enterprise_demo.load(county, seed=7, with_appeals=True)
    assert "problems as appeals" in summary
    figures = selectors.meeting_figures()
    assert figures["meetings"] == 10 and figures["problems"] > 10
    assert 0 < figures["closed"] <= figures["problems"]
    assert Appeal.objects.filter(channel="breakfast").count() == figures["problems"]
    assert (
        Appeal.objects.filter(channel="visit").count()
        == EnterpriseAppeal.objects.filter(source="visit").count()
    )
    assert Answer.objects.exists() and Notice.objects.exists()

    projects_demo.load(county, seed=7, with_appeals=True)
    assert Project.objects.count() == 12
    assert ProgressUpdate.objects.exists()
    food = IndustryChain.objects.get(name="食品加工产业链")
    assert set(food.projects.values_list("name", flat=True)) == {
        "高标准农田建设",
        "农村饮水安全巩固提升工程",
    }
