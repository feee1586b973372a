"""``kuaiban upstream create|list|disable``: upper-level platforms (上级转办)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from kuaiban.core.errors import DomainError
from kuaiban.integrations import upstream
from kuaiban.integrations.models import UpstreamPlatform


class Command(BaseCommand):
    help = "Create, list and disable the upper-level 12345 platforms that send appeals down."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create", help="add a platform and print its shared secret")
        create.add_argument("--code", required=True, help="e.g. city12345 (in the push URL)")
        create.add_argument("--name", required=True, help="e.g. 市12345")
        create.add_argument("--url", required=True, help="the platform's adapter URL")
        create.add_argument("--secret", default=None, help="default: a new random whsec_ secret")
        sub.add_parser("list", help="every platform with its adapter and state")
        disable = sub.add_parser("disable", help="refuse its pushes and stop sending to it")
        disable.add_argument("code")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            getattr(self, f"_{options['action']}")(options)
        except DomainError as exc:
            detail = "; ".join(f"{e.field}: {e.message}" for e in exc.errors) or exc.message
            raise CommandError(str(detail)) from None

    def _create(self, options: dict[str, Any]) -> None:
        platform = upstream.platform_create(
            code=options["code"],
            name=options["name"],
            adapter_url=options["url"],
            secret=options["secret"],
        )
        self.stdout.write(platform.secret)
        self.stderr.write(
            f"Upstream platform {platform.code} ({platform.name}) → {platform.adapter_url}; "
            f"it pushes to /api/v1/upstream/{platform.code}/appeals; the line above is the "
            "shared secret both sides sign with."
        )

    def _list(self, options: dict[str, Any]) -> None:
        self.stdout.write(f"{'code':<20} {'name':<12} {'state':<9} adapter")
        for p in UpstreamPlatform.objects.all():
            state = "active" if p.active else "disabled"
            self.stdout.write(f"{p.code:<20} {p.name:<12} {state:<9} {p.adapter_url}")

    def _disable(self, options: dict[str, Any]) -> None:
        platform = UpstreamPlatform.objects.filter(code=options["code"]).first()
        if platform is None:
            raise CommandError(f"no upstream platform coded {options['code']}")
        platform.active = False
        upstream.platform_save(platform)
        self.stdout.write(f"Upstream platform {platform.code} disabled.")
