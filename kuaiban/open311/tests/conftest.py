"""Open311 test helpers: a client that speaks both formats and parses them like a real client
(XML with xml.etree against the specification's element names, JSON with json)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from xml.etree import ElementTree as ET

import pytest
from django.test import Client

from kuaiban.integrations import services as integrations
from kuaiban.org.demo import Directory

FORMATS = ["json", "xml"]
HEATING = "C01.02.08"  # 城乡建设 / 城市建设和市政管理 / 冬季采暖 (with extra attributes)
NOISE = "C04.02.03"  # 环境保护 / 环境污染 / 噪音污染
DESCRIPTION = "阳光花园小区5号楼暖气一直不热，室温只有十四度，家里有八十岁老人，希望尽快维修。"


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    raw: bytes
    fmt: str
    json: Any = None
    xml: ET.Element | None = None

    @property
    def errors(self) -> list[tuple[int, str]]:
        """(code, description) of each error, read the way the format says."""
        if self.fmt == "json":
            assert isinstance(self.json, list)
            return [(item["code"], item["description"]) for item in self.json]
        assert self.xml is not None and self.xml.tag == "errors", self.raw
        out = []
        for error in self.xml:
            assert error.tag == "error"
            assert [c.tag for c in error] == ["code", "description"]
            out.append((int(error.findtext("code") or 0), error.findtext("description") or ""))
        return out

    def requests(self) -> list[dict[str, str | None]]:
        """The service_requests list as {element: text} (XML) or the JSON objects."""
        if self.fmt == "json":
            assert isinstance(self.json, list), self.raw
            return list(self.json)
        assert self.xml is not None and self.xml.tag == "service_requests", self.raw
        rows = []
        for request in self.xml:
            assert request.tag == "request"
            rows.append({child.tag: child.text for child in request})
        return rows


class Open311Client:
    def __init__(self) -> None:
        self.client = Client()

    def _answer(self, response: Any, fmt: str) -> Answer:
        raw = response.content
        answer = Answer(response.status_code, dict(response.headers), raw, fmt)
        if fmt == "json":
            assert response["Content-Type"] == "application/json; charset=utf-8"
            answer.json = json.loads(raw)
        else:
            assert response["Content-Type"] == "text/xml; charset=utf-8"
            assert raw.startswith(b'<?xml version="1.0" encoding="UTF-8"?>')
            answer.xml = ET.fromstring(raw)
        return answer

    def get(self, path: str, fmt: str, **params: Any) -> Answer:
        return self._answer(self.client.get(f"/open311/v2/{path}.{fmt}", params), fmt)

    def post(self, fmt: str, data: dict[str, Any], headers: dict[str, str] | None = None) -> Answer:
        response = self.client.post(f"/open311/v2/requests.{fmt}", data, headers=headers or {})
        return self._answer(response, fmt)


@pytest.fixture
def o311() -> Open311Client:
    return Open311Client()


@pytest.fixture
def key(county: Directory) -> str:
    return integrations.apikey_create(name="mobile-app", channel="app").key


@pytest.fixture
def form(key: str, county: Directory) -> dict[str, Any]:
    return {
        "api_key": key,
        "service_code": HEATING,
        "lat": "36.123456",
        "long": "115.654321",
        "address_string": "城关镇阳光花园小区5号楼",
        "address_id": county.villages[0].code,
        "description": DESCRIPTION,
        "first_name": "建华",
        "last_name": "王",
        "phone": "13812345678",
        "email": "wangjh@example.com",
        "device_id": "android-5f3c2a",
        "account_id": "user-20461",
        "media_url": "https://img.example.com/heating/5-2.jpg",
        "attribute[building]": "5号楼2单元",
        "attribute[indoor_temp]": "14",
        "attribute[vulnerable]": "yes",
    }
