"""GET /api/v1/metrics and GET /api/v1/rankings: thin wrappers over the metrics services."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema

from kuaiban.api.schemas import ErrorOut, QuerySchema
from kuaiban.metrics import periods, services
from kuaiban.org.models import User

router = Router(tags=["metrics"])


class CountsOut(Schema):
    received: int
    dispatches: int
    claimed_on_time: int
    returns: int
    closed: int
    replied: int
    replied_on_time: int
    due_passed_unreplied: int
    parts_answered: int = 0
    parts_answered_on_time: int = 0
    parts_due_passed_unanswered: int = 0
    extensions: int
    reworked: int
    visited: int
    rated: int
    satisfied: int
    resolved: int
    authentic: int
    on_spot: int = 0


class FiguresOut(Schema):
    received: int
    on_time_claim_rate: float | None
    return_rate: float | None
    closure_rate: float | None
    on_time_reply_rate: float | None
    participation_rate: float | None
    satisfaction_rate: float | None
    resolution_rate: float | None
    authenticity_rate: float | None
    rework_rate: float | None
    co_handling_rate: float | None = Field(
        None, description="协办及时率: co-unit parts answered by their due / parts due"
    )
    on_spot_rate: float | None = Field(
        None, description="Replies resolved on the spot by a grid worker (就地解决) / replies"
    )
    score: float | None = Field(description="Composite score in points (0–100)")
    counts: CountsOut


class GroupOut(FiguresOut):
    key: str | None
    name: str


class MetricsOut(Schema):
    from_: dt.date = Field(alias="from")
    to: dt.date
    total: FiguresOut
    groups: list[GroupOut]


class MetricsParams(QuerySchema):
    from_: str | None = Field(None, alias="from", description="YYYY-MM-DD (received on or after)")
    to: str | None = Field(None, description="YYYY-MM-DD (received on or before)")
    group_by: Literal["unit", "region", "channel", "category"] | None = None
    unit: str | None = Field(None, description="Unit code")
    channel: str | None = None
    category: str | None = Field(None, description="Category code")
    region: str | None = Field(None, description="Region code")


ERRORS = {400: ErrorOut, 401: ErrorOut, 403: ErrorOut}


def _user(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)
    return user


@router.get(
    "/metrics",
    response={200: MetricsOut, **ERRORS},
    summary="The rates for a period, optionally grouped",
    by_alias=True,
)
def get_metrics(request: HttpRequest, params: Query[MetricsParams]) -> dict[str, object]:
    services.ensure_reader(_user(request))
    scope = services.scope_from_params(
        {
            "from": params.from_,
            "to": params.to,
            "unit": params.unit,
            "channel": params.channel,
            "category": params.category,
            "region": params.region,
        }
    )
    return services.metrics(scope, params.group_by)


class RankedOut(FiguresOut):
    unit: str = Field(description="Unit code")
    key: str = Field(description="Unit code (the same as unit; kept for older clients)")
    name: str
    rank: int | None
    stars: int | None = Field(description="1–5 by the tier's star bands; null when unscored")
    change: int | None = Field(
        description="Places gained since the previous period of the same length (negative: "
        "lost); null when unranked in either period"
    )
    previous_rank: int | None
    rank_change: int | None = Field(description="The same as change")
    previous_score: float | None
    score_change: float | None


class TierOut(Schema):
    kind: str = Field(description="The tier's code (the same as slug)")
    slug: str
    name: str
    scoring: str = Field(description="unit: composite score; village: village score (星级村)")
    units: list[RankedOut]


class SchemeOut(Schema):
    response_metric: str
    response_weight: float
    resolution_weight: float
    satisfaction_weight: float
    stars: dict[str, float]


class VillageSchemeOut(Schema):
    weights: dict[str, float]
    stars: dict[str, float]


class RankingsOut(Schema):
    period: str = Field(description="2026-11, 2026-Q4 or 2026")
    period_kind: Literal["month", "quarter", "year"]
    previous_period: str
    month: str = Field(description="The same as period (kept for older clients)")
    tier: str | None = Field(description="The tier asked for, if any")
    scheme: SchemeOut
    village_scheme: VillageSchemeOut
    items: list[RankedOut] = Field(description="The units of the tier asked for (else empty)")
    tiers: list[TierOut]


@router.get(
    "/rankings",
    response={200: RankingsOut, **ERRORS},
    summary="Rankings of units by score within assessment tiers, for a month, quarter or year",
)
def get_rankings(
    request: HttpRequest,
    period: str | None = Query(None, description="2026-11, 2026-Q4 or 2026"),
    month: str | None = Query(None, description="YYYY-MM (older spelling of period)"),
    tier: str | None = Query(None, description="A tier's code: department, township, village…"),
) -> dict[str, object]:
    services.ensure_reader(_user(request))
    chosen = periods.period_from(period, month, services.today())
    data = services.rankings(chosen, (tier or "").strip() or None)
    data["tiers"] = [{**t, "units": [r.as_dict() for r in t["units"]]} for t in data["tiers"]]
    data["tier"] = tier.strip() if tier and tier.strip() else None
    data["items"] = data["tiers"][0]["units"] if data["tier"] else []
    return data
