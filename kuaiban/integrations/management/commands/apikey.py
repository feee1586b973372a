"""``kuaiban apikey create|revoke|list|webhook``: keys for integrating systems."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from kuaiban.appeals.models import Channel
from kuaiban.core.errors import DomainError
from kuaiban.integrations import services, webhooks
from kuaiban.integrations.models import WEBHOOK_EVENTS, ApiKey, Webhook
from kuaiban.integrations.selectors import apikey_list


def _when(value: Any) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M") if value else "-"


class Command(BaseCommand):
    help = "Create, revoke and list API keys of integrating systems, and add their webhooks."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create", help="create a key and print it (only this once)")
        create.add_argument("--name", required=True, help="e.g. hotline-vendor")
        create.add_argument("--channel", default=Channel.OPEN311, choices=Channel.values)
        create.add_argument("--description", default="")
        create.add_argument("--rate", type=int, default=600, help="requests per minute")
        create.add_argument(
            "--private", action="store_true", help="keep its requests out of public GET answers"
        )
        create.add_argument(
            "--batch", action="store_true", help="answer Open311 POSTs with a token"
        )
        revoke = sub.add_parser("revoke", help="revoke a key: it is refused from now on")
        revoke.add_argument("name")
        sub.add_parser("list", help="every key with its channel and last use")
        hook = sub.add_parser("webhook", help="register a webhook for a key (prints its secret)")
        hook.add_argument("name", help="the key's name")
        hook.add_argument("--url", required=True)
        hook.add_argument(
            "--events",
            default="",
            help=f"comma list of {', '.join(WEBHOOK_EVENTS)} (default: every status change)",
        )
        hook.add_argument("--scope", default=Webhook.Scope.OWN, choices=Webhook.Scope.values)
        hook.add_argument("--secret", default=None, help="default: a new random secret")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            getattr(self, f"_{options['action']}")(options)
        except DomainError as exc:
            detail = "; ".join(f"{e.field}: {e.message}" for e in exc.errors) or exc.message
            raise CommandError(str(detail)) from None

    def _create(self, options: dict[str, Any]) -> None:
        made = services.apikey_create(
            name=options["name"],
            channel=options["channel"],
            description=options["description"],
            rate_per_minute=options["rate"],
            public=not options["private"],
            mode=ApiKey.Mode.BATCH if options["batch"] else ApiKey.Mode.REALTIME,
        )
        self.stdout.write(made.key)
        self.stderr.write(
            f"API key {made.api_key.name} ({made.api_key.channel}) created; it is stored hashed "
            "and is not shown again."
        )

    def _revoke(self, options: dict[str, Any]) -> None:
        api_key = services.apikey_revoke(name=options["name"])
        self.stdout.write(f"API key {api_key.name} revoked at {_when(api_key.revoked_at)}.")

    def _list(self, options: dict[str, Any]) -> None:
        rows = apikey_list()
        self.stdout.write(
            f"{'name':<24} {'channel':<12} {'prefix':<9} {'rate/min':>8}  {'created':<16}  "
            f"{'last used':<16}  state"
        )
        for k in rows:
            state = f"revoked {_when(k.revoked_at)}" if k.revoked_at else "active"
            self.stdout.write(
                f"{k.name:<24} {k.channel:<12} {k.prefix:<9} {k.rate_per_minute:>8}  "
                f"{_when(k.created_at):<16}  {_when(k.last_used_at):<16}  {state}"
            )

    def _webhook(self, options: dict[str, Any]) -> None:
        api_key = ApiKey.objects.filter(name=options["name"]).first()
        if api_key is None:
            raise CommandError(f"no API key named {options['name']}")
        events = [e.strip() for e in options["events"].split(",") if e.strip()]
        hook = webhooks.webhook_create(
            api_key=api_key,
            url=options["url"],
            events=events,
            secret=options["secret"],
            scope=options["scope"],
        )
        self.stdout.write(hook.secret)
        self.stderr.write(
            f"Webhook {hook.pk} for {api_key.name} → {hook.url} "
            f"({', '.join(hook.events) or 'every status change'}); the line above is its secret."
        )
