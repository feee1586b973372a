from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_migrate


def create_cache_tables(*, using: str = "default", **_kwargs: Any) -> None:
    """`migrate` also creates the database cache's table (the shared cache's default backend),
    so `kuaiban migrate` is the one step a new install or an upgrade needs. Idempotent."""
    from django.core.management import call_command

    call_command("createcachetable", database=using, verbosity=0)


class CoreConfig(AppConfig):
    name = "kuaiban.core"
    label = "core"

    def ready(self) -> None:
        post_migrate.connect(create_cache_tables, sender=self, dispatch_uid="core-cache-tables")
