"""GET /api/v1/forecast: the seasonal forecast by category and township (see forecast.py)."""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema

from kuaiban.api.schemas import ErrorOut, QuerySchema
from kuaiban.foresight import forecast
from kuaiban.metrics import services as metrics
from kuaiban.org.models import User

router = Router(tags=["foresight"])


class ForecastCodeOut(Schema):
    code: str
    name: str


class ForecastRowOut(Schema):
    category: ForecastCodeOut
    township: ForecastCodeOut
    expected: float = Field(description="base × trend, one decimal")
    last_year: int = Field(description="Appeals in the same month a year before")
    two_years_ago: int = Field(description="Appeals in the same month two years before")
    previous_expected: float = Field(description="The month before, forecast the same way")
    trend: float = Field(description="The category's recent volume against a year before")
    rising: bool


class ForecastOut(Schema):
    month: str
    as_of: str
    two_years: bool = Field(description="Whether the ledger reaches back two years")
    items: list[ForecastRowOut]


class ForecastParams(QuerySchema):
    month: str | None = Field(None, description="YYYY-MM (default: next month)")


@router.get(
    "/forecast",
    response={200: ForecastOut, 400: ErrorOut, 401: ErrorOut, 403: ErrorOut},
    summary="Next month's expected appeals by category and township, with last year's",
)
def get_forecast(request: HttpRequest, params: Query[ForecastParams]) -> dict[str, object]:
    user = request.user
    assert isinstance(user, User)
    metrics.ensure_reader(user)
    today = metrics.today()
    month = forecast.parse_target(params.month, today=today)
    result = forecast.forecast(month, today=today)
    return {
        "month": f"{result.month:%Y-%m}",
        "as_of": result.as_of.isoformat(),
        "two_years": result.two_years,
        "items": [r.as_dict() for r in result.rows],
    }
