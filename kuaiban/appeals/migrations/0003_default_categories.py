from django.db import migrations


def load(apps, schema_editor):
    from kuaiban.appeals.categories import load_default_tree

    load_default_tree(apps.get_model("appeals", "Category"))


class Migration(migrations.Migration):
    dependencies = [("appeals", "0002_initial")]
    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
