"""The system user who performs automatic dispatches (an operator that cannot log in)."""

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.db import migrations


def create(apps, schema_editor):
    User = apps.get_model(*settings.AUTH_USER_MODEL.split("."))
    User.objects.get_or_create(
        username="system",
        defaults={
            "role": "operator",
            "display_name": "系统",
            "password": make_password(None),
            "is_active": True,
        },
    )


def remove(apps, schema_editor):
    # Keep the user: events point at it.
    pass


class Migration(migrations.Migration):
    dependencies = [
        ("routing", "0001_initial"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [migrations.RunPython(create, remove)]
