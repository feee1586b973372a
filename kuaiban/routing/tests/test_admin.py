"""Administration: switch the active version back, queue training from the admin pages, the
automatic-dispatch setting."""

from __future__ import annotations

from typing import Any

import pytest
from django.http import HttpRequest
from django.test import Client
from django.urls import reverse

from kuaiban.org.demo import Directory
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
