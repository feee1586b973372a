# Deadline clocks for the sweep (kuaiban.deadlines): warning moments, the "already warned"
# marker (alert_stage, alert_due), the extension count, and partial indexes for range scans.

from django.db import migrations, models


class Migration(migrations.Migration):

    # The same operations were briefly generated under an automatic name by another app's
    # makemigrations; this one stands in for it so migrations depending on it keep working.
    replaces = [("appeals", "0004_appeal_alert_due_appeal_alert_stage_and_more")]

    dependencies = [
        ("appeals", "0003_default_categories"),
    ]

    operations = [
        migrations.AddField(
            model_name="appeal",
            name="alert_due",
            field=models.DateTimeField(blank=True, editable=False, null=True),
        ),
        migrations.AddField(
            model_name="appeal",
            name="alert_stage",
            field=models.CharField(blank=True, editable=False, max_length=8),
        ),
        migrations.AddField(
            model_name="appeal",
            name="claim_warn_at",
            field=models.DateTimeField(blank=True, editable=False, null=True),
        ),
        migrations.AddField(
            model_name="appeal",
            name="extension_count",
            field=models.PositiveSmallIntegerField(default=0, editable=False, verbose_name="extensions"),
        ),
        migrations.AddField(
            model_name="appeal",
            name="reply_warn_at",
            field=models.DateTimeField(blank=True, editable=False, null=True),
        ),
        migrations.AddField(
            model_name="appeal",
            name="visit_warn_at",
            field=models.DateTimeField(blank=True, editable=False, null=True),
        ),
        migrations.AddIndex(
            model_name="appeal",
            index=models.Index(condition=models.Q(("status", "dispatched")), fields=["claim_due"], name="appeal_claim_due_open"),
        ),
        migrations.AddIndex(
            model_name="appeal",
            index=models.Index(condition=models.Q(("status", "dispatched")), fields=["claim_warn_at"], name="appeal_claim_warn_open"),
        ),
        migrations.AddIndex(
            model_name="appeal",
            index=models.Index(condition=models.Q(("status", "in_progress")), fields=["reply_due"], name="appeal_reply_due_open"),
        ),
        migrations.AddIndex(
            model_name="appeal",
            index=models.Index(condition=models.Q(("status", "in_progress")), fields=["reply_warn_at"], name="appeal_reply_warn_open"),
        ),
        migrations.AddIndex(
            model_name="appeal",
            index=models.Index(condition=models.Q(("status", "replied")), fields=["visit_due"], name="appeal_visit_due_open"),
        ),
        migrations.AddIndex(
            model_name="appeal",
            index=models.Index(condition=models.Q(("status", "replied")), fields=["visit_warn_at"], name="appeal_visit_warn_open"),
        ),
    ]
