"""Progress reports with a reason and photos, the public chart's history and legend, and demo
projects whose figures agree with their own milestones."""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from kuaiban.core import clock
from kuaiban.core.tests.photos import has_exif, has_gps, phone_jpeg
from kuaiban.org.demo import Directory
from kuaiban.org.models import User
from kuaiban.projects import demo, selectors
from kuaiban.projects.models import ProgressPhoto, ProgressUpdate, Project
from kuaiban.projects.tests.test_projects import JUL, create

pytestmark = pytest.mark.django_db

AUG = timezone.make_aware(dt.datetime(2026, 8, 20, 16))


def web(username: str | None) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
    if username:
        client.force_login(User.objects.get(username=username))
    return client


def report(api: Any, project: dict[str, Any], when: dt.datetime, **body: Any) -> Any:
    with clock.frozen(when):
        return api("handler-zjj").post(f"/projects/{project['id']}/progress", body)


def test_a_lowered_figure_needs_a_reason(api: Any) -> None:
    project = create(api)
    assert report(api, project, JUL, progress=45, note="6个小区已开工").status == 200
    bare = report(api, project, AUG, progress=38, note="重新核定工程量")
    assert bare.status == 400, bare.body
    assert [e["field"] for e in bare.body["errors"]] == ["reason"]
    assert "45%" in bare.body["detail"] and "38%" in bare.body["detail"]
    blank = report(api, project, AUG, progress=38, note="重新核定工程量", reason="   ")
    assert [e["field"] for e in blank.body["errors"]] == ["reason"]
    assert ProgressUpdate.objects.count() == 1 and Project.objects.get().progress == 45
    why = "审计核减：2个小区的管网更新未通过验收，需返工。"
    ok = report(api, project, AUG, progress=38, note="重新核定工程量", reason=why)
    assert ok.status == 200, ok.body
    assert ok.body["progress"] == 38
    latest = ok.body["updates"][0]
    assert (latest["progress_from"], latest["progress_to"], latest["reason"]) == (45, 38, why)
    # a rise may carry a reason too, but needs none
    assert report(api, project, AUG, progress=50, note="返工完成").status == 200


def test_reason_is_checked_for_length(api: Any) -> None:
    project = create(api)
    long = report(api, project, JUL, progress=20, note="进展", reason="因" * 501)
    assert long.status == 400 and [e["field"] for e in long.body["errors"]] == ["reason"]


def form(progress: str, note: str, **extra: Any) -> dict[str, Any]:
    return {"progress-progress": progress, "progress-note": note, **extra}


def test_photos_are_checked_reencoded_and_shown_publicly(api: Any) -> None:
    project = create(api)
    url = f"/projects/admin/{project['id']}/progress/"
    shot = SimpleUploadedFile("IMG_20260715.jpg", phone_jpeg(), content_type="image/jpeg")
    with clock.frozen(JUL):
        done = web("handler-zjj").post(
            url, form("30", "外立面改造完成", **{"progress-photos": [shot]})
        )
    assert done.status_code == 302
    (photo,) = ProgressPhoto.objects.all()
    assert photo.content_type == "image/jpeg" and photo.width == 1200
    served = web(None).get(f"/projects/photos/{photo.pk}/")  # public, like the report
    assert served.status_code == 200
    data = b"".join(served.streaming_content)  # type: ignore[attr-defined]
    assert not has_gps(data) and not has_exif(data)
    page = web(None).get("/projects/", {"year": 2026}).content.decode()
    assert f"/projects/photos/{photo.pk}/" in page
    assert web(None).get(f"/projects/photos/{photo.pk + 99}/").status_code == 404
    assert web(None).get(f"/projects/photos/{2**70}/").status_code == 404


def test_what_is_not_a_photo_is_refused_naming_the_field(api: Any) -> None:
    project = create(api)
    url = f"/projects/admin/{project['id']}/progress/"
    fake = SimpleUploadedFile("现场.jpg", "不是图片".encode(), content_type="image/jpeg")
    pdf = SimpleUploadedFile("验收.pdf", b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n")
    many = [
        SimpleUploadedFile(f"{i}.jpg", phone_jpeg(64, 48, seed=i), content_type="image/jpeg")
        for i in range(10)
    ]
    with clock.frozen(JUL):
        for files in ([fake], [pdf], many):
            r = web("handler-zjj").post(
                url, form("30", "外立面改造完成", **{"progress-photos": files})
            )
            assert r.status_code == 400
            assert list(r.context["progress_form"].errors) == ["photos"]
        lowered = web("handler-zjj").post(url, form("0", "没变"))  # not lower: nothing changed
    assert lowered.status_code == 400
    assert not ProgressUpdate.objects.exists() and not ProgressPhoto.objects.exists()


def test_the_web_form_asks_for_the_reason_of_a_lower_figure(api: Any) -> None:
    project = create(api)
    url = f"/projects/admin/{project['id']}/progress/"
    with clock.frozen(JUL):
        assert web("handler-zjj").post(url, form("45", "开工")).status_code == 302
        bare = web("handler-zjj").post(url, form("40", "核减"))
        ok = web("handler-zjj").post(
            url, form("40", "核减", **{"progress-reason": "1个小区因居民意见暂缓改造"})
        )
    assert bare.status_code == 400
    assert "请说明原因" in bare.content.decode()
    assert ok.status_code == 302
    assert ProgressUpdate.objects.order_by("-id").first().reason == "1个小区因居民意见暂缓改造"  # type: ignore[union-attr]


def figure(html: str, script_id: str) -> dict[str, Any]:
    found = re.search(
        rf'<script id="{script_id}" type="application/json">(.*?)</script>', html, re.S
    )
    assert found, script_id
    data = json.loads(found.group(1))
    return json.loads(data) if isinstance(data, str) else data  # type: ignore[no-any-return]


def test_the_public_chart_shows_the_legend_and_each_projects_history(api: Any) -> None:
    first = create(api)
    create(api, name="新建城区第三小学", owner_unit="jyj", milestones=[])
    report(
        api, first, JUL, progress=45, note="6个小区已开工", milestone=first["milestones"][0]["id"]
    )
    report(api, first, AUG, progress=40, note="核减", reason="1个小区暂缓改造")
    with clock.frozen(AUG):
        page = web(None).get("/projects/", {"year": 2026})
    html = page.content.decode()
    bars = figure(html, "chart-data")
    # one trace per status: the legend names them (the school has not started; the renovation
    # missed its June milestone)
    assert {t["name"] for t in bars["data"]} == {"滞后", "未开工"}
    assert bars["layout"]["showlegend"] is True
    legend = html[html.index('data-testid="legend"') :].split("</p>", 1)[0]
    assert all(word in legend for word in ("已完成", "滞后", "按计划推进", "未开工"))
    history = figure(html, "history-data")
    lines = {t["name"]: t for t in history["data"]}
    assert set(lines) == {"1. 城区老旧小区改造", "2. 新建城区第三小学"}
    assert lines["1. 城区老旧小区改造"]["y"] == [0, 45, 40]
    assert lines["1. 城区老旧小区改造"]["marker"]["symbol"] == ["circle", "diamond", "circle"]
    assert lines["2. 新建城区第三小学"]["y"] == [0]
    assert "1个小区暂缓改造" in html and "45% → 40%" in html  # the card's history


def test_demo_projects_agree_with_their_own_milestones(county: Directory) -> None:
    demo.load(county, seed=1, with_appeals=False)
    views = selectors.board(timezone.localdate().year)
    assert len(views) == len(demo.PROJECTS)
    for v in views:
        p = v.project
        low, high = selectors.milestone_band(v.done_milestones, v.total_milestones)
        assert low <= p.progress <= high, (p.name, p.progress, v.done_milestones)
        assert (p.progress == 100) == (v.done_milestones == v.total_milestones), p.name
        for u in p.updates.all():
            if u.note.startswith("已完成"):
                assert u.note.startswith(f"已完成{u.progress_to}%"), (p.name, u.note)
            if u.milestone is not None:
                assert u.milestone.done_on == timezone.localdate(u.at)
        assert all(u.progress_to >= u.progress_from for u in p.updates.all())
