"""Appeals registered before the input check with an ``occurred_at`` outside the years
1900–2999 (``0001-01-01`` typed in a form) broke every page that showed them: PostgreSQL stored
year 1 in Asia/Shanghai as a BC timestamp that the driver cannot read, and year 9999 overflows
when shown in local time. Such a date was never true; it is cleared, compared in SQL so that no
value has to be read into Python first. Registration now refuses them (check_date)."""

from django.db import migrations


def clear_out_of_range(apps, schema_editor):  # type: ignore[no-untyped-def]
    Appeal = apps.get_model("appeals", "Appeal")
    table = schema_editor.quote_name(Appeal._meta.db_table)
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET occurred_at = NULL WHERE occurred_at < %s OR occurred_at >= %s",
            ["1900-01-01 00:00:00", "3000-01-01 00:00:00"],
        )


class Migration(migrations.Migration):
    dependencies = [("appeals", "0006_h5audit_anchor")]

    operations = [migrations.RunPython(clear_out_of_range, migrations.RunPython.noop)]
