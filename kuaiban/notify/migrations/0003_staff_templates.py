"""SMS templates for handlers told of work arriving at their unit (supervision.work_notices)."""

from django.db import migrations

DEFAULTS = [
    # code, name, text, urgent (not: quiet hours hold them; the in-app notice is there at once)
    ("staff_dispatched", "派单提醒", "诉求{number}已派给{unit}，请于{due}前签收办理。", False),
    (
        "staff_arbitrated",
        "裁定派单提醒",
        "诉求{number}经督查室裁定由{unit}办理，不可再退回，请于{due}前签收。",
        False,
    ),
    ("staff_co_handle", "协办提醒", "诉求{number}请{unit}协办，请于{due}前提交协办意见。", False),
    ("staff_rework", "重办提醒", "诉求{number}回访不满意，已退回{unit}重办，请于{due}前重新答复。", False),
]


def seed(apps, schema_editor):
    SmsTemplate = apps.get_model("notify", "SmsTemplate")
    for code, name, text, urgent in DEFAULTS:
        SmsTemplate.objects.get_or_create(
            code=code, defaults={"name": name, "text": text, "urgent": urgent}
        )


class Migration(migrations.Migration):
    dependencies = [("notify", "0002_default_templates")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
