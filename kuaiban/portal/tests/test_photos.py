"""Photos at the front door: judged by their content, re-saved without EXIF (GPS included),
stored with the appeal; the unit's "after" photos reach the submitter behind signed links.
Every refusal names ``photos`` and writes nothing: no appeal, no row, no file, no spent code."""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from kuaiban.appeals import services
from kuaiban.appeals.models import Appeal, Attachment
from kuaiban.conftest import stored_files, user
from kuaiban.core import uploads
from kuaiban.core.tests.photos import has_exif, has_gps, phone_jpeg
from kuaiban.org.demo import Directory
from kuaiban.portal.tests.conftest import Outbox
from kuaiban.portal.tests.test_submit import PHONE, client, code_for, submit

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def jpeg(name: str = "IMG_20261203_0915.jpg", **kwargs: Any) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, phone_jpeg(**kwargs), content_type="image/jpeg")


def test_photos_come_back_without_gps_and_are_stored_with_the_appeal(
    outbox: Outbox, attachments_dir: Path
) -> None:
    photos = [jpeg(), jpeg("井盖.jpg", width=3000, height=4000)]
    assert all(has_gps(p.read()) for p in photos)
    for p in photos:
        p.seek(0)
    r = submit(phone=PHONE, code=code_for(outbox), photos=photos)
    assert r.status_code == 201, r.content
    appeal = Appeal.objects.get(number=r.json()["number"])
    rows = list(appeal.attachments.order_by("pk"))
    assert [(a.stage, a.public, a.content_type) for a in rows] == [
        ("intake", False, "image/jpeg"),
        ("intake", False, "image/jpeg"),
    ]
    assert rows[1].name == "井盖.jpg" and (rows[1].width, rows[1].height) == (1500, 2000)
    for row in rows:
        data = row.read()
        assert not has_gps(data) and not has_exif(data)
        assert row.sha256 in row.stored_as
    event = appeal.events.get(action="register")
    assert [f["sha256"] for f in event.payload["attachments"]] == [a.sha256 for a in rows]
    assert len(stored_files(attachments_dir)) == 2


def _elf() -> bytes:
    return b"\x7fELF\x02\x01\x01" + b"\x00" * 9 + b"\x02\x00\x3e\x00" + b"\x00" * 600


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: [SimpleUploadedFile("setup.jpg", _elf(), "image/jpeg")], "照片"),
        (lambda: [SimpleUploadedFile("big.jpg", b"\xff\xd8\xff" + b"\0" * (21 << 20))], "20"),
        (lambda: [SimpleUploadedFile("cut.jpg", phone_jpeg()[:800], "image/jpeg")], "图片"),
        (lambda: [SimpleUploadedFile("doc.pdf", b"%PDF-1.7\n" + b"x" * 400)], "照片"),
        (lambda: [jpeg(f"p{i}.jpg") for i in range(10)], "9"),
    ],
    ids=["executable-renamed-jpg", "21-MB", "truncated-jpeg", "pdf-is-no-photo", "ten-photos"],
)
def test_a_bad_photo_is_refused_by_name_and_nothing_is_written(
    outbox: Outbox, attachments_dir: Path, make: Any, message: str
) -> None:
    code = code_for(outbox)
    r = submit(phone=PHONE, code=code, photos=make())
    assert r.status_code == 400, r.content
    errors = {e["field"]: e["message"] for e in r.json()["errors"]}
    assert "photos" in errors and message in errors["photos"], errors
    assert not Appeal.objects.exists() and not Attachment.objects.exists()
    assert stored_files(attachments_dir) == []
    # The code was not spent on a refused submission: it still works.
    assert submit(phone=PHONE, code=code).status_code == 201


def test_the_submit_page_takes_photos_and_shows_a_refusal_beside_the_field(
    outbox: Outbox,
) -> None:
    code = code_for(outbox)
    page = client()
    body = {"kind": "complaint", "content": "路灯不亮，晚上出行很不方便。", "phone": PHONE}
    bad = page.post("/submit/", {**body, "code": code, "photos": [io.BytesIO(_elf())]})
    assert bad.status_code == 400
    assert 'data-field="photos"' in bad.content.decode()
    assert not Appeal.objects.exists()
    good = page.post("/submit/", {**body, "code": code, "photos": [jpeg()]})
    assert good.status_code == 302
    assert Attachment.objects.filter(stage="intake").count() == 1


def reply_with_photo(county: Directory, number: str) -> None:
    handler = user("handler-chengguan")
    services.appeal_dispatch(actor=None, number=number, unit=handler.unit.code)  # type: ignore[union-attr]
    services.appeal_claim(actor=handler, number=number)
    after = uploads.prepare(io.BytesIO(phone_jpeg(gps=True)), field="files")
    services.appeal_reply(
        actor=handler, number=number, result="resolved", text="井盖已更换。", files=[after]
    )


def test_the_units_after_photo_reaches_the_submitter_behind_a_signed_link(
    outbox: Outbox, county: Directory
) -> None:
    r = submit(phone=PHONE, code=code_for(outbox), photos=[jpeg()])
    number, access = r.json()["number"], r.json()["access_code"]
    reply_with_photo(county, number)
    followed = client().get(f"/api/v1/public/appeals/{number}", {"access_code": access})
    photos = followed.json()["photos"]
    assert len(photos) == 1  # the unit's photo; the submitter's own intake photo is not public
    got = Client().get(photos[0]["url"])
    assert got.status_code == 200 and got["Content-Type"] == "image/jpeg"
    data = b"".join(got.streaming_content)  # type: ignore[attr-defined]
    assert not has_gps(data)
    assert got["X-Content-Type-Options"] == "nosniff"
    page = client().get("/track/", {"number": number, "code": access}).content.decode()
    shown = re.findall(r'<img src="(/photos/[^"]+)"', page)
    assert len(shown) == 1 and Client().get(shown[0]).status_code == 200
    # A link that was not signed by us, or points at the intake photo, opens nothing.
    token = photos[0]["url"].split("/")[2]
    assert Client().get(f"/photos/{token[:-2]}xx/").status_code == 404
    intake = Attachment.objects.get(stage="intake")
    from django.core import signing

    forged = signing.dumps(intake.pk, salt="kuaiban.portal.photo")
    assert Client().get(f"/photos/{forged}/").status_code == 404  # not public
    assert Client().get(f"/photos/{'A' * 300}/").status_code == 404


def test_a_reports_reply_photos_never_reach_the_public(outbox: Outbox, county: Directory) -> None:
    r = submit(kind="report", anonymous="true", content="某单位工作人员收受红包，请调查。")
    assert r.status_code == 201, r.content
    number, access = r.json()["number"], r.json()["access_code"]
    reply_with_photo(county, number)
    assert Attachment.objects.get(stage="reply").public is False
    followed = client().get(f"/api/v1/public/appeals/{number}", {"access_code": access})
    assert followed.json()["photos"] == []
