"""Demo integrating systems: one API key per channel that integrates, and a few Open311 requests.

The demo keys are derived from the seed (like the demo passwords, they are for trying things
out: revoke them with ``kuaiban apikey revoke NAME`` before real use), so the same seed gives the
same keys and ``docs/integrations.md`` can show them.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import random

from kuaiban.appeals import services as appeals
from kuaiban.appeals.models import Channel
from kuaiban.core import clock
from kuaiban.integrations.models import ApiKey
from kuaiban.org.demo import Directory

# name, channel, public, mode, description
KEYS = [
    ("hotline-vendor", Channel.HOTLINE, False, ApiKey.Mode.REALTIME, "12345 热线话务系统"),
    ("wechat-bot", Channel.WECHAT, False, ApiKey.Mode.REALTIME, "政企微信群机器人"),
    ("mobile-app", Channel.APP, True, ApiKey.Mode.REALTIME, "“快办”手机应用"),
    ("grid-handsets", Channel.GRID, True, ApiKey.Mode.BATCH, "网格员手持终端"),
]

REQUESTS = [
    (
        "C01.02.08",
        "阳光花园小区{b}号楼暖气一直不热，室温只有十四度，家里有老人。",
        {"building": "{b}号楼1单元"},
    ),
    (
        "C01.02.16",
        "幸福里小区{b}号楼从昨天晚上停水到现在，没有任何通知。",
        {"water_problem": "outage"},
    ),
    (
        "C04.02.03",
        "滨河路工地夜里十一点以后还在施工，噪声很大，影响休息。",
        {"noise_source": "construction"},
    ),
    ("C01.02.01", "建设街与人民路交叉口绿化带垃圾堆积多日无人清运。", {}),
    ("C01.02.04", "东门村村口路灯坏了一个多月，晚上出行不安全。", {}),
]


def demo_key(seed: int, name: str) -> str:
    digest = hashlib.sha256(f"kuaiban-demo:{seed}:{name}".encode()).digest()
    return "kbk_" + base64.urlsafe_b64encode(digest).decode().rstrip("=")


def load(directory: Directory, *, seed: int, with_appeals: bool) -> str:
    made = []
    for name, channel, public, mode, description in KEYS:
        key = demo_key(seed, name)
        _obj, created = ApiKey.objects.get_or_create(
            name=name,
            defaults={
                "channel": channel,
                "public": public,
                "mode": mode,
                "description": description,
                "prefix": key[4:12],
                "digest": ApiKey.digest_of(key),
            },
        )
        if created:
            made.append(f"{name}={key}")
    requests = _requests(directory, seed) if with_appeals else 0
    if not made and not requests:
        return ""
    keys = ("; demo API keys: " + ", ".join(made)) if made else ""
    return f"Integrations: {len(made)} API keys, {requests} Open311 requests{keys}"


def _requests(directory: Directory, seed: int) -> int:
    from kuaiban.open311 import services as open311
    from kuaiban.open311.models import Open311Request

    api_key = ApiKey.objects.get(name="mobile-app")
    if Open311Request.objects.filter(api_key=api_key).exists():
        return 0
    rng = random.Random(seed + 311)
    operator = directory.users["operator"]
    now = clock.now()
    count = 0
    for i in range(12):
        code, text, attributes = REQUESTS[i % len(REQUESTS)]
        building = rng.randint(1, 28)
        form = {
            "service_code": code,
            "description": text.format(b=building),
            "lat": f"{rng.uniform(36.05, 36.25):.6f}",
            "long": f"{rng.uniform(115.55, 115.80):.6f}",
            "address_id": rng.choice(directory.villages).code,
            "first_name": rng.choice(["秀英", "建国", "丽娟", "志强", "海燕"]),
            "last_name": rng.choice(["王", "李", "张", "刘", "陈"]),
            "phone": "139" + "".join(rng.choice("0123456789") for _ in range(8)),
            **{f"attribute[{k}]": v.format(b=building) for k, v in attributes.items()},
        }
        at = now - dt.timedelta(days=12 - i, hours=rng.randint(0, 8))
        with clock.frozen(at):
            outcome = open311.request_create(api_key=api_key, form=form)
            count += 1
            if i % 3 != 2:
                unit = rng.choice(["zjj", "cgj", "sthj", "swj"])
                appeals.appeal_dispatch(
                    actor=operator, number=outcome.record.appeal.number or "", unit=unit
                )
    return count
