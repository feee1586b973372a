"""Administration: switch the active version back, queue training from the admin pages, the
automatic-dispatch setting."""

from __future__ import annotations

from typing import Any

import pytest
from django.http import HttpRequest
from django.test import Client
from django.urls import reverse

from kuaiban.core import clock, jobs
from kuaiban.org.demo import Directory
from kuaiban.org.models import User
from kuaiban.routing import services
from kuaiban.routing.models import ModelVersion, RoutingSettings, TrainingJob

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("routing_env")]


def admin_client() -> Client:
    c = Client(headers={"accept-language": "en"})
    c.login(request=HttpRequest(), username="admin", password="kuaiban-demo")
    return c


def test_pages_render(active_models: Any) -> None:
    c = admin_client()
    for name in ("modelversion", "trainingjob", "routingsettings", "suggestion"):
        assert c.get(reverse(f"admin:routing_{name}_changelist")).status_code == 200
    assert c.get(reverse("admin:routing_trainingjob_add")).status_code == 200
    assert c.get(reverse("admin:routing_modelversion_add")).status_code == 403


def test_activate_action_switches_back(active_models: Any) -> None:
    current = active_models["category"]
    older = ModelVersion.objects.create(
        version="category-older",
        target="category",
        path=current.path,
        checksum=current.checksum,
        trained_at=current.trained_at,
    )
    url = reverse("admin:routing_modelversion_changelist")
    r = admin_client().post(
        url, {"action": "activate", "_selected_action": [older.pk]}, follow=True
    )
    assert "Version category-older is active." in r.content.decode()
    assert set(ModelVersion.objects.filter(active=True).values_list("version", flat=True)) == {
        "category-older",
        "unit-test",
    }
    # Two versions of one target at once are refused.
    r = admin_client().post(
        url, {"action": "activate", "_selected_action": [older.pk, current.pk]}, follow=True
    )
    assert "at most one version of each target" in r.content.decode()
    assert ModelVersion.objects.get(pk=older.pk).active


def test_training_is_queued_from_the_admin(active_models: Any) -> None:
    r = admin_client().post(
        reverse("admin:routing_trainingjob_add"),
        {"target": "unit", "cv_folds": "3", "activate": "on"},
        follow=True,
    )
    assert r.status_code == 200 and "routing_worker" in r.content.decode()
    job = TrainingJob.objects.get()
    assert (job.status, job.target, job.cv_folds, job.created_by.username) == (
        "queued",
        "unit",
        3,
        "admin",
    )
    url = reverse("admin:routing_modelversion_changelist")
    admin_client().post(
        url, {"action": "train_again", "_selected_action": [active_models["category"].pk]}
    )
    assert TrainingJob.objects.filter(target="category", status="queued").count() == 1


def test_a_training_job_s_page_shows_its_progress_then_its_result(
    active_models: Any,
) -> None:
    job = services.job_enqueue(target="unit", cv_folds=3)
    url = reverse("admin:routing_trainingjob_change", args=[job.pk])
    page = admin_client().get(url).content.decode()
    assert 'data-testid="training-progress"' in page and "Waiting for a worker" in page
    claimed = services.job_claim(worker="worker-1")
    assert claimed is not None
    # The worker is two steps into five (the first two folds): every load of the page shows it.
    jobs.Reporter(services.progress_key(claimed))(2, 5)
    for _reload in range(2):
        page = admin_client().get(url).content.decode()
        assert 'max="100" value="40"' in page and "40% (2 of 5 steps)" in page
    listing = admin_client().get(reverse("admin:routing_trainingjob_changelist")).content.decode()
    assert 'value="40"' in listing
    # Done: no bar any more; the output says how it went.
    TrainingJob.objects.filter(pk=job.pk).update(
        status="done", output="unit-20261204: 120 samples, 3 classes, not cross-validated."
    )
    page = admin_client().get(url).content.decode()
    assert 'data-testid="training-progress"' not in page and "120 samples, 3 classes" in page
    # Queued again after a failure, the job's old progress is not shown as its new one.
    TrainingJob.objects.filter(pk=job.pk).update(status="running", started_at=clock.now())
    page = admin_client().get(url).content.decode()
    assert 'value="40"' not in page and "Reading the ledger" in page


def test_only_administrators_see_training_jobs(active_models: Any) -> None:
    job = services.job_enqueue(target="unit", cv_folds=3)
    url = reverse("admin:routing_trainingjob_change", args=[job.pk])
    leader = Client()
    leader.force_login(User.objects.get(username="leader"))
    r = leader.get(url)
    assert r.status_code == 302 and "/login/" in r["Location"]
    # A job that does not exist is no crash.
    missing = reverse("admin:routing_trainingjob_change", args=[job.pk + 1000])
    assert admin_client().get(missing).status_code == 302


def test_settings_are_one_row(county: Directory) -> None:
    c = admin_client()
    r = c.post(
        reverse("admin:routing_routingsettings_add"),
        {"auto_dispatch": "on", "threshold": "0.95", "suggest_threshold": "0.6"},
    )
    assert r.status_code == 302
    row = RoutingSettings.objects.get()
    assert row.pk == 1 and row.auto_dispatch and row.threshold == 0.95
    assert row.suggest_threshold == 0.6
    assert c.get(reverse("admin:routing_routingsettings_add")).status_code == 403
    r = c.post(
        reverse("admin:routing_routingsettings_change", args=[1]),
        {"auto_dispatch": "on", "threshold": "0.2", "suggest_threshold": "0.6"},
    )
    assert r.status_code == 200 and RoutingSettings.objects.get().threshold == 0.95
    r = c.post(
        reverse("admin:routing_routingsettings_change", args=[1]),
        {"auto_dispatch": "on", "threshold": "0.95", "suggest_threshold": "1.5"},
    )
    assert r.status_code == 200 and RoutingSettings.objects.get().suggest_threshold == 0.6
    assert Client().get(reverse("admin:routing_routingsettings_changelist")).status_code == 302


def test_a_training_job_s_page_speaks_chinese(active_models: Any) -> None:
    job = services.job_enqueue(target="unit", cv_folds=3)
    c = Client(headers={"accept-language": "zh-hans"})
    c.login(request=HttpRequest(), username="admin", password="kuaiban-demo")
    page = c.get(reverse("admin:routing_trainingjob_change", args=[job.pk])).content.decode()
    assert "创建人" in page and "Created by" not in page
