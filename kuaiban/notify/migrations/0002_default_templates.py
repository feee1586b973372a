"""The default SMS templates (短信模板), in Chinese; administrators edit them in the admin."""

from django.db import migrations

DEFAULTS = [
    # code, name, text, urgent
    ("code", "验证码", "您的验证码是{code}，{minutes}分钟内有效。如非本人操作，请忽略本短信。", True),
    (
        "receipt",
        "受理回执",
        "您反映的诉求已受理，受理编号{number}，查询码{access_code}。凭编号和查询码可查询办理进度，请妥善保管。",
        True,
    ),
    ("dispatched", "已转交", "您的诉求{number}已转交{unit}办理，办理结果将及时告知您。", False),
    ("replied", "答复", "您的诉求{number}已由{unit}答复：{reply}", False),
    (
        "rating",
        "自助评价",
        "请您对诉求{number}的办理情况作出评价（7天内有效，仅可使用一次）：{url}",
        False,
    ),
    ("closed", "办结", "您的诉求{number}已办结，感谢您的理解与支持。", False),
    # For confidential kinds (举报): the number and the status, nothing else.
    ("status", "状态更新", "您的诉求{number}办理状态已更新为：{status}。", False),
]


def seed(apps, schema_editor):
    SmsTemplate = apps.get_model("notify", "SmsTemplate")
    for code, name, text, urgent in DEFAULTS:
        SmsTemplate.objects.get_or_create(
            code=code, defaults={"name": name, "text": text, "urgent": urgent}
        )


class Migration(migrations.Migration):
    dependencies = [("notify", "0001_initial")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
