"""Photos and documents at the desk: the operator's registration form, the unit's reply, the
return visit. Each file is judged by its content and linked to the event it came with; only
those who may open the appeal may open its files, and a refused file leaves the appeal as it was."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from kuaiban.appeals import services
from kuaiban.appeals.models import Appeal, Attachment
from kuaiban.appeals.tests.test_views import REGISTER, client_for, field_errors, html, snapshot
from kuaiban.conftest import stored_files, user
from kuaiban.core.tests.photos import has_gps, phone_jpeg
from kuaiban.org.demo import Directory

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


def photo(name: str = "现场照片.jpg") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, phone_jpeg(), content_type="image/jpeg")


def test_the_operator_registers_with_a_photo_and_a_document(county: Directory) -> None:
    document = SimpleUploadedFile("情况说明.pdf", PDF, content_type="application/octet-stream")
    r = client_for("operator").post(
        "/appeals/new/", {**REGISTER, "attachments": [photo(), document]}, follow=True
    )
    assert r.status_code == 200, html(r)[:500]
    appeal = Appeal.objects.get()
    rows = {a.content_type: a for a in appeal.attachments.all()}
    assert set(rows) == {"image/jpeg", "application/pdf"}
    assert rows["application/pdf"].name == "情况说明.pdf" and rows["application/pdf"].read() == PDF
    assert not has_gps(rows["image/jpeg"].read())
    assert {a.stage for a in rows.values()} == {"intake"} and not any(
        a.public for a in rows.values()
    )
    page = html(client_for("operator").get(f"/appeals/{appeal.number}/"))
    assert f"/appeals/{appeal.number}/files/{rows['image/jpeg'].pk}/" in page
    assert "情况说明.pdf" in page


def test_a_file_that_is_no_photo_or_pdf_is_refused_beside_the_field(
    county: Directory, attachments_dir: Path
) -> None:
    fake = SimpleUploadedFile("通知.jpg", b"MZ\x90\x00" + b"\x00" * 500, content_type="image/jpeg")
    r = client_for("operator").post("/appeals/new/", {**REGISTER, "attachments": [fake]})
    assert r.status_code == 400
    assert field_errors(html(r), "attachments") == ["不接受这种文件，请上传照片或 PDF 文档。"]
    assert not Appeal.objects.exists() and stored_files(attachments_dir) == []


def _claimed(make_appeal: Any) -> tuple[Appeal, Any]:
    handler = user("handler-zjj")
    appeal = make_appeal()
    services.appeal_dispatch(actor=user("operator"), number=appeal.number, unit="zjj")
    services.appeal_claim(actor=handler, number=appeal.number)
    return appeal, handler


def test_the_reply_photo_is_public_and_opens_only_for_those_who_see_the_appeal(
    make_appeal: Any,
) -> None:
    appeal, _ = _claimed(make_appeal)
    r = client_for("handler-zjj").post(
        f"/appeals/{appeal.number}/reply/",
        {
            "reply-result": "resolved",
            "reply-text": "已维修暖气管道，室温恢复到二十度。",
            "reply-attachments": [photo("维修后.jpg")],
        },
    )
    assert r.status_code == 302, html(r)[:800]
    row = Attachment.objects.get(stage="reply")
    assert row.public and row.event is not None and row.event.action == "reply"
    assert row.event.payload["attachments"][0]["sha256"] == row.sha256
    url = f"/appeals/{appeal.number}/files/{row.pk}/"
    for allowed in ("handler-zjj", "operator", "supervisor"):
        got = client_for(allowed).get(url)
        assert got.status_code == 200 and got["Content-Type"] == "image/jpeg", allowed
    assert client_for("handler-ybj").get(url).status_code == 404  # another unit's handler
    assert (
        client_for("handler-zjj").get(f"/appeals/{appeal.number}/files/{row.pk + 99}/").status_code
        == 404
    )
    anonymous = client_for("operator")
    anonymous.logout()
    assert anonymous.get(url).status_code == 302  # to the login page


def test_a_refused_reply_file_leaves_the_appeal_as_it_was(
    make_appeal: Any, attachments_dir: Path
) -> None:
    appeal, _ = _claimed(make_appeal)
    before = snapshot(appeal)
    big = SimpleUploadedFile("大图.jpg", b"\xff\xd8\xff" + b"\x00" * (21 << 20))
    r = client_for("handler-zjj").post(
        f"/appeals/{appeal.number}/reply/",
        {"reply-result": "resolved", "reply-text": "已处理。", "reply-attachments": [big]},
    )
    assert r.status_code == 400
    assert "20 MB" in html(r)
    assert snapshot(appeal) == before and not Attachment.objects.exists()
    assert stored_files(attachments_dir) == []


def test_the_visit_takes_files_too(make_appeal: Any) -> None:
    appeal, handler = _claimed(make_appeal)
    services.appeal_reply(actor=handler, number=appeal.number, result="resolved", text="已修好。")
    r = client_for("visitor").post(
        f"/appeals/{appeal.number}/visit/",
        {
            "visit-reached": "yes",
            "visit-resolved": "yes",
            "visit-satisfaction": "satisfied",
            "visit-authentic": "yes",
            "visit-attachments": [SimpleUploadedFile("回访记录.pdf", PDF)],
        },
    )
    assert r.status_code == 302, html(r)[:800]
    row = Attachment.objects.get()
    assert (row.stage, row.public, row.event.action) == ("visit", False, "visit")  # type: ignore[union-attr]


def _api_post(api: Any, username: str, number: str, **data: Any) -> Any:
    client = api(username)
    return client.client.post(f"/api/v1/appeals/{number}/attachments", data, headers=client.headers)


def test_the_api_adds_files_to_an_open_appeal_and_serves_them(api: Any, make_appeal: Any) -> None:
    appeal, _handler = _claimed(make_appeal)
    r = _api_post(api, "handler-zjj", appeal.number, files=[photo("管道.jpg")], note="现场照片")
    assert r.status_code == 201, r.content
    [row] = r.json()
    assert (row["stage"], row["public"], row["content_type"]) == ("later", False, "image/jpeg")
    event = appeal.events.get(action="attach")
    assert event.note == "现场照片" and event.payload["attachments"][0]["name"] == "管道.jpg"
    listed = api("operator").get(f"/appeals/{appeal.number}/attachments")
    assert listed.status == 200 and [a["id"] for a in listed.body] == [row["id"]]
    got = api("supervisor").client.get(row["url"], headers=api("supervisor").headers)
    assert got.status_code == 200 and not has_gps(b"".join(got.streaming_content))  # type: ignore[attr-defined]
    # Another unit's handler neither adds nor reads; the public API gives nothing of it.
    assert _api_post(api, "handler-ybj", appeal.number, files=[photo()]).status_code == 404
    other = api("handler-ybj")
    assert other.client.get(row["url"], headers=other.headers).status_code == 404
    assert api(None).client.get(row["url"]).status_code == 401
    assert _api_post(api, "leader", appeal.number, files=[photo()]).status_code == 403
    assert Attachment.objects.count() == 1


def test_the_api_refuses_bad_files_and_closed_appeals_writing_nothing(
    api: Any, make_appeal: Any, attachments_dir: Path
) -> None:
    appeal, _handler = _claimed(make_appeal)
    fake = SimpleUploadedFile("合同.pdf", b"PK\x03\x04" + b"\x00" * 300)
    r = _api_post(api, "operator", appeal.number, files=[fake])
    assert r.status_code == 400 and r.json()["errors"][0]["field"] == "files"
    assert _api_post(api, "operator", appeal.number).status_code == 400  # no file at all
    invalid = make_appeal()
    services.appeal_invalidate(actor=user("operator"), number=invalid.number, reason="重复")
    assert _api_post(api, "operator", invalid.number, files=[photo()]).status_code == 409
    assert not Attachment.objects.exists() and stored_files(attachments_dir) == []
    assert not appeal.events.filter(action="attach").exists()
