"""The county's public entrances as shipped; an administrator edits them in the admin."""

from django.db import migrations

ENTRANCES = [
    ("web", "网上受理", "群众和企业反映问题、提出诉求的网上入口。", "web", 0),
    (
        "direct-line",
        "书记直通车",
        "开放式受理、办理、答复群众反映事项：您反映的问题直达县委书记，按时限办理并回复。",
        "direct_line",
        1,
    ),
    (
        "mailbox",
        "书记县长信箱",
        "给书记、县长写信：意见建议、困难求助、投诉举报均可，实名或匿名举报均受理。",
        "mailbox",
        2,
    ),
]


def seed(apps, schema_editor):  # type: ignore[no-untyped-def]
    Entrance = apps.get_model("portal", "Entrance")
    for slug, title, intro, channel, position in ENTRANCES:
        Entrance.objects.get_or_create(
            slug=slug,
            defaults={"title": title, "intro": intro, "channel": channel, "position": position},
        )


class Migration(migrations.Migration):
    dependencies = [("portal", "0001_initial")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
