"""The public API's SMS code endpoint, mounted at ``/api/v1/public`` (no bearer token)."""

from __future__ import annotations

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Router, Schema, Status

from kuaiban.api.schemas import ERRORS, ErrorOut, InputSchema
from kuaiban.core.throttle import client_address
from kuaiban.notify import codes

router = Router(tags=["public"])


class CodeIn(InputSchema):
    phone: str


class CodeOut(Schema):
    detail: str
    expires_in: int  # seconds the code stays valid
    resend_after: int  # seconds before another code may be asked for this phone


@router.post(
    "/codes",
    auth=None,
    response={202: CodeOut, 429: ErrorOut, **ERRORS},
    summary="Send a one-time code by SMS",
    description=(
        "Sends a 6-digit code to a mainland mobile number, valid for 10 minutes and usable once "
        "(`phone` + `code` in the public submission and support calls). Throttled per phone "
        "(one a minute, five an hour) and per client address (five a minute): past a limit, "
        "429 naming `phone` with a `Retry-After` header, and nothing is sent."
    ),
)
def code_request(request: HttpRequest, payload: CodeIn) -> Status:
    codes.code_issue(payload.phone, address=client_address(request))
    return Status(
        202,
        CodeOut(
            detail=_("A code is on its way by SMS."),
            expires_in=int(codes.code_valid_for().total_seconds()),
            resend_after=codes.resend_after(),
        ),
    )
