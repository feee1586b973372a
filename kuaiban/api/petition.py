"""A petition's own steps (信访, 《信访工作条例》): thin; parse, call one service, render."""

from __future__ import annotations

from typing import Literal

from django.http import HttpRequest
from ninja import Field, Router

from kuaiban.api.appeals import AppealDetailOut, done
from kuaiban.api.schemas import ERRORS, InputSchema
from kuaiban.appeals import services
from kuaiban.org.models import User

router = Router(tags=["appeals"])


class PetitionNoticeIn(InputSchema):
    text: str = Field(description="The written notice of acceptance (受理告知书) as given")


class ReviewRequestIn(InputSchema):
    level: Literal["review", "recheck"] = Field(
        description="review: 复查 of the handling opinion; recheck: 复核 of the review's opinion"
    )
    reason: str = Field(description="Why the petitioner disagrees")


class ReviewDecideIn(InputSchema):
    outcome: Literal["upheld", "changed"]
    opinion: str = Field(description="The review's (or re-examination's) written opinion")


def _user(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)
    return user


@router.post(
    "/{number}/petition/notice",
    response={200: AppealDetailOut, **ERRORS},
    summary="The petition office gives the written notice of acceptance (受理告知)",
)
def petition_notice(
    request: HttpRequest, number: str, payload: PetitionNoticeIn
) -> dict[str, object]:
    appeal = services.appeal_petition_notice(actor=_user(request), number=number, text=payload.text)
    return done(request, appeal)


@router.post(
    "/{number}/petition/review",
    response={200: AppealDetailOut, **ERRORS},
    summary="Record a petitioner's request for review (复查) or re-examination (复核)",
)
def petition_review(
    request: HttpRequest, number: str, payload: ReviewRequestIn
) -> dict[str, object]:
    review = services.appeal_review_request(
        actor=_user(request), number=number, level=payload.level, reason=payload.reason
    )
    return done(request, review.appeal)


@router.post(
    "/{number}/petition/review/decide",
    response={200: AppealDetailOut, **ERRORS},
    summary="The level above gives the open review's opinion",
)
def petition_review_decide(
    request: HttpRequest, number: str, payload: ReviewDecideIn
) -> dict[str, object]:
    review = services.appeal_review_decide(
        actor=_user(request), number=number, outcome=payload.outcome, opinion=payload.opinion
    )
    return done(request, review.appeal)
