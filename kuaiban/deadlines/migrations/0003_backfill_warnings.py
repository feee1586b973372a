"""Give open appeals whose clocks started before warning moments existed their yellow moment
(claim and reply from the dispatch, the return visit from the reply), with the shipped warning
settings and the statutory calendar."""

from django.db import migrations

from kuaiban.deadlines.calendar import WorkCalendar

CLOCKS = [
    ("dispatched", "claim", "dispatched_at"),
    ("dispatched", "reply", "dispatched_at"),
    ("in_progress", "reply", "dispatched_at"),
    ("replied", "visit", "replied_at"),
]


def forwards(apps, schema_editor):
    Appeal = apps.get_model("appeals", "Appeal")
    WorkSettings = apps.get_model("deadlines", "WorkSettings")
    CalendarDay = apps.get_model("deadlines", "CalendarDay")
    settings = WorkSettings.objects.order_by("pk").first()
    periods = [(settings.morning_start, settings.morning_end)] if settings else []
    if settings and settings.afternoon_start and settings.afternoon_end:
        periods.append((settings.afternoon_start, settings.afternoon_end))
    cal = WorkCalendar(
        **({"hours": tuple(periods)} if periods else {}),
        overrides=dict(CalendarDay.objects.values_list("date", "is_workday")),
    )
    lead_days = float(settings.warn_workdays) if settings else 1.0
    fraction = (settings.warn_percent if settings else 25) / 100
    for status, stage, start_field in CLOCKS:
        due_field, warn_field = f"{stage}_due", f"{stage}_warn_at"
        todo = Appeal.objects.filter(
            status=status, **{f"{due_field}__isnull": False, f"{warn_field}__isnull": True}
        ).only("pk", due_field, start_field, "received_at")
        batch = []
        for appeal in todo.iterator(chunk_size=2000):
            due = getattr(appeal, due_field)
            start = getattr(appeal, start_field) or appeal.received_at
            setattr(
                appeal,
                warn_field,
                cal.warn_moment(start, due, lead_days=lead_days, lead_fraction=fraction),
            )
            batch.append(appeal)
            if len(batch) >= 2000:
                Appeal.objects.bulk_update(batch, [warn_field])
                batch = []
        if batch:
            Appeal.objects.bulk_update(batch, [warn_field])


class Migration(migrations.Migration):
    dependencies = [
        ("deadlines", "0002_default_limits"),
        ("appeals", "0004_deadlines_clocks"),
    ]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
