"""Fixtures for the enterprise tests: registered enterprises, logged-in web clients."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from stdnum.cn import uscc

from kuaiban.enterprise import services
from kuaiban.enterprise.models import Enterprise
from kuaiban.org.demo import Directory
from kuaiban.org.models import User


def code(n: int) -> str:
    """A valid unified social credit code, distinct for each n."""
    body = f"91330000MA{n:07d}"
    return str(body + uscc.calc_check_digit(body))


def bad_check_digit(value: str) -> str:
    last = "0" if value[-1] != "0" else "1"
    return value[:-1] + last


@pytest.fixture
def ent(county: Directory) -> Callable[..., Enterprise]:
    counter = iter(range(1, 10_000))

    def make(
        name: str = "清河县兴业机械制造有限公司",
        *,
        industry: str = "C",
        size: str = "above",
        township: str = "chengguan",
        contact: tuple[str, str] = ("王建军", "13905310001"),
        credit_code: str | None = None,
    ) -> Enterprise:
        return services.enterprise_create(
            actor=User.objects.get(username="admin"),
            data=services.EnterpriseInput(
                credit_code=credit_code or code(next(counter)),
                name=name,
                industry=industry,
                size=size,
                township=county.townships[township].code,
                address="工业路18号",
                contact_name=contact[0],
                contact_phone=contact[1],
            ),
        )

    return make


@pytest.fixture
def assign(county: Directory) -> Callable[..., Any]:
    def make(username: str, enterprise: Enterprise, duty: str = "联络员") -> Any:
        return services.assignment_create(
            actor=User.objects.get(username="admin"),
            official=username,
            enterprise=enterprise.credit_code,
            duty=duty,
        )

    return make


@pytest.fixture
def web(county: Directory) -> Callable[[str | None], Client]:
    """A browser-like client logged in as ``username`` (None: the public), in Chinese."""

    def as_user(username: str | None) -> Client:
        client = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
        if username:
            client.force_login(User.objects.get(username=username))
        return client

    return as_user
