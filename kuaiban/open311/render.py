"""Open311 answers in XML and JSON from one structure.

XML follows the specification's element names with no namespace and a UTF-8 declaration; JSON is
its Spark-convention mapping: a container of repeated children becomes an array, even with one
child, and the root element disappears.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from decimal import Decimal
from typing import Any
from xml.etree import ElementTree as ET

from django.http import HttpRequest, HttpResponse
from django.utils import timezone

# Container element → the name of each child in it.
CHILD = {
    "services": "service",
    "service_requests": "request",
    "errors": "error",
    "attributes": "attribute",
    "values": "value",
    "endpoints": "endpoint",
    "formats": "format",
}
CONTENT_TYPES = {"xml": "text/xml; charset=utf-8", "json": "application/json; charset=utf-8"}
XML_DECLARATION = b'<?xml version="1.0" encoding="UTF-8"?>\n'
# Characters XML 1.0 cannot carry at all (control characters other than tab, LF and CR).
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def w3(value: dt.datetime | None) -> str | None:
    """A W3C date-time with its offset (local time, e.g. 2026-11-23T09:15:30+08:00)."""
    if value is None:
        return None
    return timezone.localtime(value).isoformat(timespec="seconds")


def _scalar_xml(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        return w3(value) or ""
    return _NOT_XML.sub("\ufffd", str(value))


def _scalar_json(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return w3(value)
    if isinstance(value, Decimal):
        return float(value)
    return value


def _fill(element: ET.Element, value: Any) -> None:
    if isinstance(value, dict):
        for key, child in value.items():
            _fill(ET.SubElement(element, key), child)
    elif isinstance(value, list):
        name = CHILD[element.tag]
        for child in value:
            _fill(ET.SubElement(element, name), child)
    else:
        element.text = _scalar_xml(value)


def to_xml(root: str, data: Any) -> bytes:
    element = ET.Element(root)
    _fill(element, data)
    return XML_DECLARATION + ET.tostring(element, encoding="unicode").encode("utf-8")


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    return _scalar_json(value)


def to_json(data: Any) -> bytes:
    return json.dumps(_jsonable(data), ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def respond(fmt: str, root: str, data: Any, *, status: int = 200) -> HttpResponse:
    body = to_xml(root, data) if fmt == "xml" else to_json(data)
    return HttpResponse(body, status=status, content_type=CONTENT_TYPES[fmt])


def refused_input(request: HttpRequest, field: str, message: str) -> HttpResponse:
    """The input guard's 400 as the specification's error list, in the format asked for."""
    fmt = "xml" if request.path.rstrip("/").endswith(".xml") else "json"
    return errors(fmt, 400, [f"{field}: {message}"])


def errors(fmt: str, status: int, descriptions: list[str]) -> HttpResponse:
    """The specification's error list: ``<errors><error><code/><description/></error></errors>``."""
    items = [{"code": status, "description": d} for d in descriptions]
    return respond(fmt, "errors", items, status=status)
