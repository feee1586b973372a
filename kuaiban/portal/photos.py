"""The unit's "after" photos on the public pages, behind links that prove the receipt was shown.

A photo is never reachable by its id: the tracking page and the follow API, once the access
code has opened the appeal, give each public photo (``Attachment.public``: a reply's image, never
a report's) a signed link that expires (``KUAIBAN_PUBLIC_PHOTO_LINK_HOURS``). The link names
the photo only; whoever holds the page holds the photos it shows, and nobody can walk the ids.
"""

from __future__ import annotations

from django.conf import settings
from django.core import signing
from django.http import FileResponse, Http404, HttpRequest
from django.urls import reverse
from django.views.decorators.http import require_GET

from kuaiban.appeals.models import Appeal, Attachment

SALT = "kuaiban.portal.photo"
TOKEN_MAX = 100


def public_photos(appeal: Appeal) -> list[dict[str, str]]:
    """The appeal's public photos as ``{url, name, at}``; none at all for a confidential kind."""
    if appeal.is_confidential:
        return []
    rows = appeal.attachments.filter(public=True).only("pk", "name", "uploaded_at")
    return [
        {
            "url": reverse("public-photo", args=[signing.dumps(row.pk, salt=SALT)]),
            "name": row.name,
            "at": row.uploaded_at.isoformat(),
        }
        for row in rows
    ]


@require_GET
def photo(request: HttpRequest, token: str) -> FileResponse:
    max_age = int(settings.KUAIBAN_PUBLIC_PHOTO_LINK_HOURS) * 3600
    if len(token) > TOKEN_MAX:
        raise Http404
    try:
        pk = signing.loads(token, salt=SALT, max_age=max_age)
    except signing.BadSignature:  # SignatureExpired included
        raise Http404 from None
    if not isinstance(pk, int):
        raise Http404
    row = Attachment.objects.select_related("appeal").filter(pk=pk, public=True).first()
    if row is None or row.appeal.is_confidential:
        raise Http404
    return row.response()
