"""Extra fields for a few categories whose handlers always need them (editable in the admin)."""

from django.db import migrations

YES_NO = [{"key": "yes", "name": "是"}, {"key": "no", "name": "否"}]

DEFAULTS = {
    ("城乡建设", "城市建设和市政管理", "冬季采暖"): [
        dict(code="building", datatype="string", required=True, order=1,
             description="楼栋及单元", datatype_description="如：5号楼2单元"),
        dict(code="indoor_temp", datatype="number", required=False, order=2,
             description="室内温度（℃）", datatype_description="如：14"),
        dict(code="vulnerable", datatype="singlevaluelist", required=False, order=3,
             description="家中是否有老人、婴幼儿或病人", values=YES_NO),
    ],
    ("城乡建设", "城市建设和市政管理", "自来水供应"): [
        dict(code="water_problem", datatype="singlevaluelist", required=True, order=1,
             description="问题类型",
             values=[{"key": "outage", "name": "停水"}, {"key": "pressure", "name": "水压低"},
                     {"key": "quality", "name": "水质异常"}, {"key": "leak", "name": "管道漏水"}]),
    ],
    ("环境保护", "环境污染", "噪音污染"): [
        dict(code="noise_source", datatype="singlevaluelist", required=True, order=1,
             description="噪声来源",
             values=[{"key": "construction", "name": "建筑施工"}, {"key": "business", "name": "商业经营"},
                     {"key": "traffic", "name": "交通运输"}, {"key": "neighbour", "name": "社会生活"},
                     {"key": "other", "name": "其他"}]),
        dict(code="noise_period", datatype="multivaluelist", required=False, order=2,
             description="发生时段",
             values=[{"key": "day", "name": "昼间（6时至22时）"}, {"key": "night", "name": "夜间（22时至次日6时）"}]),
    ],
}


def find(Category, path):
    parent = None
    for name in path:
        node = Category.objects.filter(parent=parent, name=name).first()
        if node is None:
            return None
        parent = node
    return parent


def forwards(apps, schema_editor):
    Category = apps.get_model("appeals", "Category")
    Service = apps.get_model("open311", "Service")
    ServiceAttribute = apps.get_model("open311", "ServiceAttribute")
    for path, attributes in DEFAULTS.items():
        category = find(Category, path)
        if category is None:
            continue
        service, _ = Service.objects.get_or_create(category=category)
        for attr in attributes:
            ServiceAttribute.objects.get_or_create(
                service=service, code=attr["code"], defaults={k: v for k, v in attr.items() if k != "code"}
            )


def backwards(apps, schema_editor):
    ServiceAttribute = apps.get_model("open311", "ServiceAttribute")
    codes = {a["code"] for attrs in DEFAULTS.values() for a in attrs}
    ServiceAttribute.objects.filter(code__in=codes).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("open311", "0001_initial"),
        ("appeals", "0003_default_categories"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
