from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from kuaiban.core.errors import DomainError
from kuaiban.org.models import User
from kuaiban.org.services import token_create


class Command(BaseCommand):
    help = (
        "Print a new API bearer token for USERNAME (stored hashed; shown only now), valid "
        "--days days (default KUAIBAN_API_TOKEN_DAYS, 90)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--name", default="cli")
        parser.add_argument("--days", type=int, default=None, help="days until it expires")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            user = User.objects.get(username=options["username"])
        except User.DoesNotExist:
            raise CommandError(f"no such user: {options['username']}") from None
        try:
            key = token_create(user=user, name=options["name"], days=options["days"])
        except DomainError as exc:
            raise CommandError(str(exc.message)) from None
        self.stdout.write(key)
