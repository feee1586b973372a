"""The four default assessment tiers, one per kind of unit; villages scored as 星级村."""

from django.db import migrations

DEFAULTS = (
    ("department", "区直单位", "department", "unit", 10),
    ("township", "乡镇（街道）", "township", "unit", 20),
    ("village", "村（社区）", "village", "village", 30),
    ("grid", "网格", "grid", "unit", 40),
)


def seed(apps, schema_editor):
    Tier = apps.get_model("metrics", "Tier")
    for slug, name, kind, scoring, position in DEFAULTS:
        Tier.objects.get_or_create(
            slug=slug,
            defaults={"name": name, "kind": kind, "scoring": scoring, "position": position},
        )


def unseed(apps, schema_editor):
    Tier = apps.get_model("metrics", "Tier")
    Tier.objects.filter(slug__in=[d[0] for d in DEFAULTS], members__isnull=True).delete()


class Migration(migrations.Migration):
    dependencies = [("metrics", "0007_assessment_tiers_and_village_scheme")]

    operations = [migrations.RunPython(seed, unseed)]
