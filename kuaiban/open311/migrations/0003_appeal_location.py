"""Open311 requests registered before the appeal had a location of its own: copy the POSTed
lat/long onto the appeal (its map pin), which the GET answers now read."""

from typing import Any

from django.db import migrations


def copy_location(apps: Any, schema_editor: Any) -> None:
    Open311Request = apps.get_model("open311", "Open311Request")
    Appeal = apps.get_model("appeals", "Appeal")
    rows = Open311Request.objects.filter(
        lat__isnull=False, long__isnull=False, appeal__lat__isnull=True, appeal__lng__isnull=True
    ).values_list("appeal_id", "lat", "long")
    for appeal_id, lat, long in rows.iterator():
        Appeal.objects.filter(pk=appeal_id).update(lat=lat, lng=long)


class Migration(migrations.Migration):
    dependencies = [
        ("open311", "0002_default_attributes"),
        ("appeals", "0009_location_supporters"),
    ]

    operations = [migrations.RunPython(copy_location, migrations.RunPython.noop)]
