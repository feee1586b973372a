"""Every receipt gets an access code (查询码) that opens /track/ together with the number: the
last four digits of the phone were a key of 10,000 values. Existing appeals get one each
(a callable default in AddField would give every existing row the same code)."""

import secrets

from django.db import migrations, models

import kuaiban.appeals.models

ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"


def backfill(apps, schema_editor):  # type: ignore[no-untyped-def]
    Appeal = apps.get_model("appeals", "Appeal")
    batch = []
    for appeal in Appeal.objects.filter(access_code="").only("pk").iterator(chunk_size=2000):
        appeal.access_code = "".join(secrets.choice(ALPHABET) for _ in range(10))
        batch.append(appeal)
        if len(batch) >= 2000:
            Appeal.objects.bulk_update(batch, ["access_code"])
            batch = []
    if batch:
        Appeal.objects.bulk_update(batch, ["access_code"])


class Migration(migrations.Migration):
    dependencies = [("appeals", "0007_h1input_occurred_at_in_range")]

    operations = [
        migrations.AddField(
            model_name="appeal",
            name="access_code",
            field=models.CharField(
                default="", editable=False, max_length=10, verbose_name="access code"
            ),
            preserve_default=False,
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="appeal",
            name="access_code",
            field=models.CharField(
                default=kuaiban.appeals.models.new_access_code,
                editable=False,
                max_length=10,
                verbose_name="access code",
            ),
        ),
    ]
