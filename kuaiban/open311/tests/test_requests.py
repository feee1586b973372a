"""POST and GET requests.{json,xml}: the map pin (lat/long) becomes the appeal's location, the
media_url is kept, an uploaded media file is stored (its EXIF gone), and the list is paged
(page, page_size) — all through HTTP, both formats."""

from __future__ import annotations

import datetime as dt
import importlib
from decimal import Decimal
from typing import Any

import pytest
from django.apps import apps as django_apps
from django.core.files.uploadedfile import SimpleUploadedFile

from kuaiban.appeals.models import Appeal, AppealEvent, Attachment
from kuaiban.core import clock
from kuaiban.core.tests.photos import has_gps, phone_jpeg
from kuaiban.open311.models import Open311Request
from kuaiban.open311.tests.conftest import FORMATS, Open311Client

pytestmark = pytest.mark.django_db

# 县城关镇人民路与解放路交叉口 (WGS-84), as a phone app would send it.
LAT, LONG = "36.457213", "115.985641"


def _nothing_written() -> None:
    assert Appeal.objects.count() == 0
    assert Open311Request.objects.count() == 0
    assert AppealEvent.objects.count() == 0


def _mentions(errors: list[tuple[int, str]], field: str) -> bool:
    return any(description.startswith(f"{field}: ") for _code, description in errors)


@pytest.mark.parametrize("fmt", FORMATS)
def test_post_lat_long_is_the_appeal_location(
    o311: Open311Client, form: dict[str, Any], fmt: str
) -> None:
    form.update(lat=LAT, long=LONG, address_string="城关镇人民路与解放路交叉口")
    form["description"] = "人民路与解放路交叉口的红绿灯坏了两天，早晚高峰车辆乱成一团。"
    a = o311.post(fmt, form)
    assert a.status == 201, a.raw
    appeal = Appeal.objects.get()
    assert (appeal.lat, appeal.lng) == (Decimal(LAT), Decimal(LONG))

    [row] = o311.get(f"requests/{appeal.number}", fmt).requests()
    assert (str(row["lat"]), str(row["long"])) == (LAT, LONG)
    [listed] = o311.get("requests", fmt).requests()
    assert listed["service_request_id"] == appeal.number
    assert (str(listed["lat"]), str(listed["long"])) == (LAT, LONG)


@pytest.mark.parametrize("fmt", FORMATS)
def test_post_lat_long_rounded_to_six_places(
    o311: Open311Client, form: dict[str, Any], fmt: str
) -> None:
    form.update(lat="36.4572134", long="-115.9856419")
    assert o311.post(fmt, form).status == 201
    appeal = Appeal.objects.get()
    assert (appeal.lat, appeal.lng) == (Decimal("36.457213"), Decimal("-115.985642"))


@pytest.mark.parametrize("fmt", FORMATS)
def test_get_follows_the_stored_location(
    o311: Open311Client, form: dict[str, Any], fmt: str
) -> None:
    # The answer is the appeal's stored pin, e.g. after staff moved it to the right corner.
    assert o311.post(fmt, form).status == 201
    Appeal.objects.update(lat=Decimal("36.460001"), lng=Decimal("115.990002"))
    [row] = o311.get("requests", fmt).requests()
    assert (str(row["lat"]), str(row["long"])) == ("36.460001", "115.990002")


@pytest.mark.parametrize("fmt", FORMATS)
def test_post_address_only_has_no_location(
    o311: Open311Client, form: dict[str, Any], fmt: str
) -> None:
    del form["lat"], form["long"]
    assert o311.post(fmt, form).status == 201
    appeal = Appeal.objects.get()
    assert appeal.lat is None and appeal.lng is None
    [row] = o311.get("requests", fmt).requests()
    assert row["lat"] in (None, "") and row["long"] in (None, "")


BAD_POINTS = [
    ({"lat": "90.000001"}, ["lat"]),
    ({"lat": "-91"}, ["lat"]),
    ({"long": "180.5"}, ["long"]),
    ({"long": "-181"}, ["long"]),
    ({"lat": "91", "long": "181"}, ["lat", "long"]),
    ({"lat": "北纬36度"}, ["lat"]),
    ({"long": "115,98"}, ["long"]),
    ({"lat": "NaN"}, ["lat"]),
    ({"long": "Infinity"}, ["long"]),
    ({"lat": "1e400"}, ["lat"]),
    ({"long": ""}, ["long"]),  # half a point: the missing half is named
    ({"lat": ""}, ["lat"]),
]


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize(("change", "fields"), BAD_POINTS)
def test_post_bad_point_is_400_naming_the_field(
    o311: Open311Client, form: dict[str, Any], fmt: str, change: dict[str, str], fields: list[str]
) -> None:
    form.update(change)
    a = o311.post(fmt, form)
    assert a.status == 400, a.raw
    assert all(code == 400 for code, _d in a.errors)
    for field in fields:
        assert _mentions(a.errors, field), a.errors
    assert not _mentions(a.errors, "lng")  # Open311's name, never the appeal's
    _nothing_written()


@pytest.mark.parametrize("fmt", FORMATS)
def test_post_media_url_kept_and_returned(
    o311: Open311Client, form: dict[str, Any], fmt: str
) -> None:
    url = "https://img.example.com/路灯/城关镇-人民路-0317.jpg?size=large"
    form["media_url"] = url
    a = o311.post(fmt, form)
    assert a.status == 201, a.raw
    assert Open311Request.objects.get().media_url == url
    appeal = Appeal.objects.get()
    [row] = o311.get(f"requests/{appeal.number}", fmt).requests()
    assert row["media_url"] == url
    [listed] = o311.get("requests", fmt).requests()
    assert listed["media_url"] == url


@pytest.mark.parametrize("fmt", FORMATS)
def test_post_without_media_url_returns_none(
    o311: Open311Client, form: dict[str, Any], fmt: str
) -> None:
    del form["media_url"]
    assert o311.post(fmt, form).status == 201
    [row] = o311.get("requests", fmt).requests()
    assert row["media_url"] in (None, "")


BAD_MEDIA = [
    "javascript:alert(1)",
    "ftp://img.example.com/a.jpg",
    "file:///etc/passwd",
    "data:image/png;base64,iVBORw0KGgo=",
    "img.example.com/a.jpg",
    "https://",
    "照片在微信群里",
    "https://img.example.com/" + "a" * 500,
]


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("media_url", BAD_MEDIA)
def test_post_bad_media_url_is_400(
    o311: Open311Client, form: dict[str, Any], fmt: str, media_url: str
) -> None:
    form["media_url"] = media_url
    a = o311.post(fmt, form)
    assert a.status == 400, a.raw
    assert _mentions(a.errors, "media_url"), a.errors
    _nothing_written()


# ----- paging -----------------------------------------------------------------------------------

STREETS = ["人民路", "解放路", "建设街", "文化路", "新华街", "光明路", "幸福街"]


def _post_many(o311: Open311Client, form: dict[str, Any], count: int) -> list[str]:
    """``count`` requests, the last three at the very same instant (ties broken by id)."""
    numbers = []
    start = clock.now() - dt.timedelta(hours=2)
    for i in range(count):
        at = start + dt.timedelta(minutes=min(i, count - 3))
        body = {
            **form,
            "address_string": f"城关镇{STREETS[i % len(STREETS)]}{i + 1}号",
            "description": f"{STREETS[i % len(STREETS)]}{i + 1}号门前的路灯不亮，晚上出行不便。",
        }
        with clock.frozen(at):
            a = o311.post("json", body)
        assert a.status == 201, a.raw
        numbers.append(str(a.json[0]["service_request_id"]))
    return numbers


def _ids(o311: Open311Client, fmt: str, **params: Any) -> list[str]:
    a = o311.get("requests", fmt, **params)
    assert a.status == 200, a.raw
    return [str(r["service_request_id"]) for r in a.requests()]


@pytest.mark.parametrize("fmt", FORMATS)
def test_get_requests_pages_are_disjoint_and_stable(
    o311: Open311Client, form: dict[str, Any], fmt: str
) -> None:
    numbers = _post_many(o311, form, 7)
    everything = _ids(o311, fmt)  # no paging parameters: as before, one page of up to 1000
    assert sorted(everything) == sorted(numbers)
    pages = [_ids(o311, fmt, page=p, page_size=3) for p in (1, 2, 3, 4)]
    assert [len(p) for p in pages] == [3, 3, 1, 0]
    assert [n for p in pages for n in p] == everything  # disjoint, nothing skipped, same order
    assert _ids(o311, fmt, page=1, page_size=3) == pages[0]  # asked again: the same page
    assert _ids(o311, fmt, page_size=2) == everything[:2]  # page defaults to 1
    assert _ids(o311, fmt, page=" 2 ", page_size="003") == pages[1]


@pytest.mark.parametrize("fmt", FORMATS)
def test_get_requests_pages_with_filters(
    o311: Open311Client, form: dict[str, Any], fmt: str
) -> None:
    numbers = _post_many(o311, form, 4)
    chosen = ",".join(numbers[:3])
    first = _ids(o311, fmt, service_request_id=chosen, page_size=2)
    second = _ids(o311, fmt, service_request_id=chosen, page_size=2, page=2)
    assert len(first) == 2 and len(second) == 1
    assert set(first) | set(second) == set(numbers[:3])
    assert _ids(o311, fmt, status="open", page=2, page_size=2) == _ids(o311, fmt)[2:4]


BAD_PAGING = [
    ({"page": "0"}, "page"),
    ({"page": "-1"}, "page"),
    ({"page": "1.5"}, "page"),
    ({"page": "二"}, "page"),
    ({"page": "２"}, "page"),  # a full-width digit is not an ASCII number
    ({"page": "1e3"}, "page"),
    ({"page": "9" * 5000}, "page"),
    ({"page": "1000001"}, "page"),
    ({"page_size": "0"}, "page_size"),
    ({"page_size": "201"}, "page_size"),
    ({"page_size": "1000"}, "page_size"),
    ({"page_size": "ten"}, "page_size"),
    ({"page_size": "+5"}, "page_size"),
]


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize(("params", "field"), BAD_PAGING)
def test_get_requests_bad_paging_is_400(
    o311: Open311Client, form: dict[str, Any], fmt: str, params: dict[str, str], field: str
) -> None:
    assert o311.post("json", form).status == 201
    a = o311.get("requests", fmt, **params)
    assert a.status == 400, a.raw
    assert all(code == 400 for code, _d in a.errors)
    assert _mentions(a.errors, field), a.errors


@pytest.mark.parametrize("fmt", FORMATS)
def test_get_requests_largest_page_is_fine(
    o311: Open311Client, form: dict[str, Any], fmt: str
) -> None:
    assert o311.post("json", form).status == 201
    assert len(_ids(o311, fmt, page_size=200)) == 1
    assert _ids(o311, fmt, page=1_000_000, page_size=200) == []  # far beyond the end: empty


def test_bad_page_size_is_explained_in_chinese(o311: Open311Client, county: Any) -> None:
    a = o311.get("requests", "json", page_size="500")
    assert a.errors == [(400, "page_size: 应为 1 到 200 之间的整数。")]


@pytest.mark.parametrize("fmt", FORMATS)
def test_migration_copies_older_requests_location(
    o311: Open311Client, form: dict[str, Any], fmt: str
) -> None:
    # A request registered before appeals had a location: its lat/long only on the request row.
    assert o311.post(fmt, form).status == 201
    Appeal.objects.update(lat=None, lng=None)
    del form["lat"], form["long"]
    form["description"] = "建设街口的井盖丢了，晚上很危险。"
    assert o311.post(fmt, form).status == 201  # no point at all: stays without one
    migration = importlib.import_module("kuaiban.open311.migrations.0003_appeal_location")
    migration.copy_location(django_apps, None)
    first, second = Appeal.objects.order_by("id")
    assert (first.lat, first.lng) == (Decimal("36.123456"), Decimal("115.654321"))
    assert second.lat is None and second.lng is None
    rows = o311.get("requests", fmt).requests()
    assert [(str(r["lat"]), str(r["long"])) for r in rows][-1] == ("36.123456", "115.654321")


@pytest.mark.parametrize("fmt", FORMATS)
def test_post_media_upload_is_stored_without_its_gps(
    o311: Open311Client, form: dict[str, Any], fmt: str
) -> None:
    """The GeoReport v2 media extension: a multipart ``media`` file, as a grid inspector's
    phone app sends the photo it took."""
    form["media"] = SimpleUploadedFile("路灯.jpg", phone_jpeg(), content_type="image/jpeg")
    a = o311.post(fmt, form)
    assert a.status == 201, a.raw
    [photo] = Appeal.objects.get().attachments.all()
    assert photo.stage == "intake" and photo.content_type == "image/jpeg"
    assert not has_gps(photo.read())


@pytest.mark.parametrize("fmt", FORMATS)
def test_post_media_that_is_no_photo_is_400_and_writes_nothing(
    o311: Open311Client, form: dict[str, Any], fmt: str
) -> None:
    form["media"] = SimpleUploadedFile("photo.jpg", b"MZ\x90\x00" + b"\x00" * 400)
    a = o311.post(fmt, form)
    assert a.status == 400, a.raw
    assert _mentions(a.errors, "media"), a.errors
    _nothing_written()
    assert not Attachment.objects.exists()
