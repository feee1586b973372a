"""Attachments in S3-compatible object storage, through django-storages, against a local fake
S3 (moto's server on 127.0.0.1): the same registration and serving, the files in the bucket."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from moto.server import ThreadedMotoServer

from kuaiban.appeals.models import Appeal
from kuaiban.appeals.tests.test_views import REGISTER, client_for
from kuaiban.core.tests.photos import has_gps, phone_jpeg
from kuaiban.org.demo import Directory

pytestmark = pytest.mark.django_db
BUCKET = "kuaiban-attachments"
KEYS = {"aws_access_key_id": "test", "aws_secret_access_key": "test", "region_name": "cn-north-1"}


@pytest.fixture
def s3(settings: Any) -> Iterator[Any]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    client = boto3.client("s3", endpoint_url=endpoint, **KEYS)
    client.create_bucket(
        Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "cn-north-1"}
    )
    settings.STORAGES = {
        **settings.STORAGES,
        "attachments": {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {
                "bucket_name": BUCKET,
                "endpoint_url": endpoint,
                "region_name": "cn-north-1",
                "access_key": "test",
                "secret_key": "test",
                "default_acl": "private",
                "file_overwrite": True,
            },
        },
    }
    try:
        yield client
    finally:
        server.stop()


def test_a_registration_photo_goes_to_the_bucket_and_is_served_from_it(
    county: Directory, s3: Any
) -> None:
    photo = SimpleUploadedFile("现场.jpg", phone_jpeg(), content_type="image/jpeg")
    r = client_for("operator").post("/appeals/new/", {**REGISTER, "attachments": [photo]})
    assert r.status_code == 302
    row = Appeal.objects.get().attachments.get()
    stored = s3.get_object(Bucket=BUCKET, Key=row.stored_as)["Body"].read()
    assert not has_gps(stored) and len(stored) == row.size
    served = client_for("operator").get(f"/appeals/{row.appeal.number}/files/{row.pk}/")
    assert served.status_code == 200
    assert b"".join(served.streaming_content) == stored  # type: ignore[attr-defined]
