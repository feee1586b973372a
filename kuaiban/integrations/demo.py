"""Demo integrating systems: one API key per channel that integrates (the Open311 requests sent
with the mobile app's key are ``kuaiban.open311.demo``).

The demo keys are derived from the seed (like the demo passwords, they are for trying things
out: revoke them with ``kuaiban apikey revoke NAME`` before real use), so the same seed gives the
same keys and ``docs/integrations.md`` can show them.
"""

from __future__ import annotations

import base64
import hashlib

from kuaiban.appeals.models import Channel
from kuaiban.integrations.models import ApiKey
from kuaiban.org.demo import Directory

# name, channel, public, mode, description
KEYS = [
    ("hotline-vendor", Channel.HOTLINE, False, ApiKey.Mode.REALTIME, "12345 热线话务系统"),
    ("wechat-bot", Channel.WECHAT, False, ApiKey.Mode.REALTIME, "政企微信群机器人"),
    ("mobile-app", Channel.APP, True, ApiKey.Mode.REALTIME, "“快办”手机应用"),
    ("grid-handsets", Channel.GRID, True, ApiKey.Mode.BATCH, "网格员手持终端"),
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
    if not made:
        return ""
    return f"Integrations: {len(made)} API keys; demo API keys: {', '.join(made)}"
