"""JSON that reads well in Chinese: UTF-8 text unescaped, times in Asia/Shanghai with offset."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from django.http import HttpRequest
from django.utils import timezone
from ninja.renderers import BaseRenderer
from ninja.responses import NinjaJSONEncoder


class LocalJSONEncoder(NinjaJSONEncoder):
    def default(self, o: Any) -> Any:
        if isinstance(o, dt.datetime) and timezone.is_aware(o):
            local = timezone.localtime(o)
            offset = local.utcoffset()
            if offset is not None and offset.seconds % 60:
                # Before 1901 Asia/Shanghai is local mean time (+08:05:43): RFC 3339 has no
                # offsets with seconds, so such instants are written in UTC.
                return o.astimezone(dt.UTC).isoformat()
            return local.isoformat()
        return super().default(o)


class JSONRenderer(BaseRenderer):
    media_type = "application/json"
    charset = "utf-8"

    def render(self, request: HttpRequest, data: Any, *, response_status: int) -> Any:
        return json.dumps(data, cls=LocalJSONEncoder, ensure_ascii=False)
