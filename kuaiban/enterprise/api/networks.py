"""Enterprise API: industry chains (产业链) and the WeChat matrix groups (微信矩阵群)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest
from ninja import Field, Schema, Status

from kuaiban.api.schemas import ERRORS, InputSchema, RefOut
from kuaiban.enterprise import network, services
from kuaiban.enterprise.api.common import (
    EnterpriseAppealOut,
    IndustryOut,
    ProblemIn,
    appeal_line,
    ref,
    router,
    user_of,
)
from kuaiban.enterprise.models import EnterpriseGroup, GroupAnswer, IndustryChain

# ----- industry chains -------------------------------------------------------------------------


class IndustryChainIn(InputSchema):
    name: str = Field(..., max_length=200)
    leader: str = Field(..., max_length=150, description="Username of the county leader (链长)")
    description: str = Field("", max_length=4000)
    enterprises: list[str] = Field(default_factory=list, max_length=500, description="Credit codes")
    projects: list[int] = Field(default_factory=list, max_length=200, description="Project ids")


class ChainMemberOut(Schema):
    credit_code: str
    name: str
    industry: IndustryOut
    township: RefOut | None
    leader: str | None = Field(..., description="The enterprise's 县级领导包解难题, if any")


class ChainProjectOut(Schema):
    id: int
    year: int
    name: str
    owner_unit: RefOut
    progress: int


class IndustryChainOut(Schema):
    id: int
    name: str
    leader: str
    leader_name: str
    description: str
    enterprises: int
    projects: int


class IndustryChainDetailOut(IndustryChainOut):
    members: list[ChainMemberOut]
    project_list: list[ChainProjectOut]
    open_appeals: list[EnterpriseAppealOut]


def chain_out(c: IndustryChain) -> dict[str, Any]:
    return {
        "id": c.pk,
        "name": c.name,
        "leader": c.leader.username,
        "leader_name": c.leader.label,
        "description": c.description,
        "enterprises": count(c, "enterprise_count", c.enterprises),
        "projects": count(c, "project_count", c.projects),
    }


def count(obj: object, annotated: str, related: Any) -> int:
    value = getattr(obj, annotated, None)
    return int(value) if value is not None else related.count()


def chain_detail(request: HttpRequest, chain_id: int) -> dict[str, Any]:
    user = user_of(request)
    chain = network.chain_get(user=user, chain_id=chain_id)
    members = list(chain.enterprises.all())
    appeals = network.open_appeals_of(user=user, enterprises=members)[:200]
    return {
        **chain_out(chain),
        "members": [
            {
                "credit_code": e.credit_code,
                "name": e.name,
                "industry": {"code": e.industry.code, "name": e.industry.name},
                "township": ref(e.township),
                "leader": seats[0].official.label if (seats := e.leader_seats) else None,  # type: ignore[attr-defined]
            }
            for e in members
        ],
        "project_list": [
            {
                "id": p.pk,
                "year": p.year,
                "name": p.name,
                "owner_unit": ref(p.owner_unit),
                "progress": p.progress,
            }
            for p in chain.projects.all()
        ],
        "open_appeals": [appeal_line(a) for a in appeals],
    }


def _chain_input(payload: IndustryChainIn) -> services.ChainInput:
    return services.ChainInput(**payload.dict())


@router.get("/chains", response={200: list[IndustryChainOut], **ERRORS})
def list_chains(request: HttpRequest) -> list[dict[str, Any]]:
    return [chain_out(c) for c in network.chains(user=user_of(request))]


@router.get("/chains/{chain_id}", response={200: IndustryChainDetailOut, **ERRORS})
def get_chain(request: HttpRequest, chain_id: int) -> dict[str, Any]:
    return chain_detail(request, chain_id)


@router.post("/chains", response={201: IndustryChainDetailOut, **ERRORS})
def create_chain(request: HttpRequest, payload: IndustryChainIn) -> Status[dict[str, Any]]:
    chain = services.chain_create(actor=user_of(request), data=_chain_input(payload))
    return Status(201, chain_detail(request, chain.pk))


@router.put("/chains/{chain_id}", response={200: IndustryChainDetailOut, **ERRORS})
def update_chain(request: HttpRequest, chain_id: int, payload: IndustryChainIn) -> dict[str, Any]:
    services.chain_update(actor=user_of(request), chain_id=chain_id, data=_chain_input(payload))
    return chain_detail(request, chain_id)


# ----- WeChat matrix groups --------------------------------------------------------------------


class WechatGroupIn(InputSchema):
    name: str = Field(..., max_length=200)
    industry: str = Field(..., max_length=50, description="Section letter A–T or its name")
    members: list[str] = Field(default_factory=list, max_length=2000, description="Credit codes")
    webhook_url: str = Field("", max_length=500, description="The group bot's webhook (optional)")


class WechatGroupOut(Schema):
    id: int
    name: str
    industry: IndustryOut
    members: list[str]
    webhook_url: str
    webhook_secret: str | None = Field(
        ..., description="Signs the group webhook (Standard Webhooks); shown to the desk only"
    )


class WechatProblemIn(ProblemIn):
    credit_code: str = Field(..., max_length=30, description="The member enterprise raising it")


class WechatAnswerIn(InputSchema):
    number: str = Field(..., max_length=40, description="The appeal raised in the group")
    text: str = Field("", max_length=4000, description="The answer (empty: the unit's reply)")
    for_class: bool = Field(False, description="面向全群: tell every member enterprise")


class WechatAnswerOut(Schema):
    id: int
    group: int
    number: str
    text: str
    for_class: bool
    enterprises_told: int
    sms: int
    webhook: str
    posted_by: str
    posted_at: dt.datetime


def group_out(g: EnterpriseGroup, *, secret: bool) -> dict[str, Any]:
    return {
        "id": g.pk,
        "name": g.name,
        "industry": {"code": g.industry.code, "name": g.industry.name},
        "members": [e.credit_code for e in g.members.all()],
        "webhook_url": g.webhook_url,
        "webhook_secret": g.webhook_secret if secret and g.webhook_secret else None,
    }


def answer_out(a: GroupAnswer) -> dict[str, Any]:
    return {
        "id": a.pk,
        "group": a.group_id,
        "number": a.appeal.number or "",
        "text": a.text,
        "for_class": a.for_class,
        "enterprises_told": a.enterprises_told,
        "sms": a.sms_count,
        "webhook": a.webhook_state,
        "posted_by": a.posted_by.username,
        "posted_at": a.posted_at,
    }


@router.get("/wechat-groups", response={200: list[WechatGroupOut], **ERRORS})
def list_groups(request: HttpRequest) -> list[dict[str, Any]]:
    user = user_of(request)
    qs = network.groups(user=user).prefetch_related("members")
    return [group_out(g, secret=False) for g in qs]


@router.post("/wechat-groups", response={201: WechatGroupOut, **ERRORS})
def create_group(request: HttpRequest, payload: WechatGroupIn) -> Status[dict[str, Any]]:
    group = services.group_save(actor=user_of(request), data=services.GroupInput(**payload.dict()))
    return Status(201, group_out(group, secret=True))


@router.put("/wechat-groups/{group_id}", response={200: WechatGroupOut, **ERRORS})
def update_group(request: HttpRequest, group_id: int, payload: WechatGroupIn) -> dict[str, Any]:
    group = services.group_save(
        actor=user_of(request), data=services.GroupInput(**payload.dict()), group_id=group_id
    )
    return group_out(group, secret=True)


@router.get(
    "/wechat-groups/{group_id}/problems", response={200: list[EnterpriseAppealOut], **ERRORS}
)
def list_group_problems(request: HttpRequest, group_id: int) -> list[dict[str, Any]]:
    user = user_of(request)
    group = network.group_get(user=user, group_id=group_id)
    return [appeal_line(a) for a in network.group_appeals(user=user, group=group)[:500]]


@router.post(
    "/wechat-groups/{group_id}/problems",
    response={201: EnterpriseAppealOut, **ERRORS},
    summary="Register a problem raised in the group (an appeal, channel wechat)",
)
def raise_group_problem(
    request: HttpRequest, group_id: int, payload: WechatProblemIn
) -> Status[dict[str, Any]]:
    data = payload.dict()
    code = data.pop("credit_code")
    appeal = services.group_problem(
        actor=user_of(request),
        group_id=group_id,
        credit_code=code,
        problem=services.ProblemInput(**data),
    )
    return Status(201, appeal_line(appeal))


@router.post(
    "/wechat-groups/{group_id}/answers",
    response={201: WechatAnswerOut, **ERRORS},
    summary="Answer a problem raised in the group; for_class tells every member",
)
def answer_in_group(
    request: HttpRequest, group_id: int, payload: WechatAnswerIn
) -> Status[dict[str, Any]]:
    answer = services.group_answer(
        actor=user_of(request),
        group_id=group_id,
        number=payload.number,
        text_=payload.text,
        for_class=payload.for_class,
    )
    return Status(201, answer_out(answer))
