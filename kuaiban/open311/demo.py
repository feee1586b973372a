"""Demo Open311 requests: a dozen service requests from the mobile app's demo key, most of them
dispatched, so the Open311 pages and the ledger's open311 channel have something to show."""

from __future__ import annotations

import datetime as dt
import random

from kuaiban.appeals import services as appeals
from kuaiban.core import clock
from kuaiban.integrations.models import ApiKey
from kuaiban.open311 import selectors, services
from kuaiban.open311.models import Open311Request
from kuaiban.org.demo import Directory

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


def load(directory: Directory, *, seed: int, with_appeals: bool) -> str:
    if not with_appeals or not ApiKey.objects.filter(name="mobile-app").exists():
        return ""
    made = _requests(directory, seed)
    return f"Open311: {made} requests" if made else ""


def _requests(directory: Directory, seed: int) -> int:
    api_key = ApiKey.objects.get(name="mobile-app")
    if Open311Request.objects.filter(api_key=api_key).exists():
        return 0
    rng = random.Random(seed + 311)
    operator = directory.users["operator"]
    now = clock.now()
    count = 0
    offered = {s.code for s in selectors.service_list()}
    for i in range(12):
        code, text, attributes = REQUESTS[i % len(REQUESTS)]
        building = rng.randint(1, 28)
        if code not in offered:  # an administrator withdrew it: the demo asks for what is offered
            continue
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
            outcome = services.request_create(api_key=api_key, form=form)
            count += 1
            if i % 3 != 2:
                unit = rng.choice(["zjj", "cgj", "sthj", "swj"])
                appeals.appeal_dispatch(
                    actor=operator, number=outcome.record.appeal.number or "", unit=unit
                )
    return count
