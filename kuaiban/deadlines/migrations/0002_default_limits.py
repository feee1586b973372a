"""Ship the default limits table and working hours (see docs/deadlines.md for the sources)."""

from decimal import Decimal

from django.db import migrations

# (channel, kind, urgency) → (claim, reply, visit) as (amount, unit) or None to inherit, basis.
DEFAULTS = [
    (
        ("", "", ""),
        ((0, "workdays"), (10, "workdays"), (3, "workdays")),
        "当日认领: claim by the end of the same working day. Complaints and reports: 10 working "
        "days (Guangdong 15 working days; Beijing 12345 standard 15 days for complex appeals). "
        "Return visit within 3 working days of the reply.",
    ),
    (
        ("", "consultation", ""),
        (None, (2, "workdays"), None),
        "Consultations: 2 working days (Guangdong); answered at intake where possible.",
    ),
    (
        ("", "help", ""),
        (None, (5, "workdays"), None),
        "Requests for help: 5 working days (Beijing 12345 standard: 7 days for general appeals).",
    ),
    (
        ("", "suggestion", ""),
        (None, (5, "workdays"), None),
        "Suggestions: 5 working days (Beijing 12345 standard: 7 days for general appeals).",
    ),
    (
        ("direct_line", "", ""),
        (None, (7, "days"), None),
        "书记直通车 (secretary direct line): closed within 7 days.",
    ),
    (
        ("", "", "urgent"),
        ((2, "hours"), (1, "workdays"), None),
        "Urgent (water, power, gas, heating): Beijing 12345 standard feedback within 24 hours.",
    ),
    (
        ("", "", "emergency"),
        ((Decimal("0.5"), "hours"), (2, "hours"), None),
        "Emergencies and risks to life or property: Beijing 12345 standard feedback within 2 hours.",
    ),
]


def forwards(apps, schema_editor):
    TimeLimit = apps.get_model("deadlines", "TimeLimit")
    WorkSettings = apps.get_model("deadlines", "WorkSettings")
    for (channel, kind, urgency), limits, basis in DEFAULTS:
        values = {"basis": basis}
        for stage, limit in zip(("claim", "reply", "visit"), limits, strict=True):
            values[f"{stage}_amount"] = Decimal(limit[0]) if limit else None
            values[f"{stage}_unit"] = limit[1] if limit else ""
        TimeLimit.objects.get_or_create(
            channel=channel, kind=kind, urgency=urgency, defaults=values
        )
    if not WorkSettings.objects.exists():
        WorkSettings.objects.create()


class Migration(migrations.Migration):
    dependencies = [("deadlines", "0001_initial")]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
