# The sweep's partial indexes hold only the appeals not yet red (deadlines) or not yet warned
# (warning moments), so a sweep with nothing to do reads a few index pages.

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('appeals', '0004_deadlines_clocks'),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name='appeal',
            name='appeal_claim_due_open',
        ),
        migrations.RemoveIndex(
            model_name='appeal',
            name='appeal_claim_warn_open',
        ),
        migrations.RemoveIndex(
            model_name='appeal',
            name='appeal_reply_due_open',
        ),
        migrations.RemoveIndex(
            model_name='appeal',
            name='appeal_reply_warn_open',
        ),
        migrations.RemoveIndex(
            model_name='appeal',
            name='appeal_visit_due_open',
        ),
        migrations.RemoveIndex(
            model_name='appeal',
            name='appeal_visit_warn_open',
        ),
        migrations.AddIndex(
            model_name='appeal',
            index=models.Index(condition=models.Q(('status', 'dispatched'), models.Q(('alert', 'red'), _negated=True)), fields=['claim_due'], name='appeal_claim_due_unred'),
        ),
        migrations.AddIndex(
            model_name='appeal',
            index=models.Index(condition=models.Q(('alert', 'none'), ('status', 'dispatched')), fields=['claim_warn_at'], name='appeal_claim_warn_quiet'),
        ),
        migrations.AddIndex(
            model_name='appeal',
            index=models.Index(condition=models.Q(('status', 'in_progress'), models.Q(('alert', 'red'), _negated=True)), fields=['reply_due'], name='appeal_reply_due_unred'),
        ),
        migrations.AddIndex(
            model_name='appeal',
            index=models.Index(condition=models.Q(('alert', 'none'), ('status', 'in_progress')), fields=['reply_warn_at'], name='appeal_reply_warn_quiet'),
        ),
        migrations.AddIndex(
            model_name='appeal',
            index=models.Index(condition=models.Q(('status', 'replied'), models.Q(('alert', 'red'), _negated=True)), fields=['visit_due'], name='appeal_visit_due_unred'),
        ),
        migrations.AddIndex(
            model_name='appeal',
            index=models.Index(condition=models.Q(('alert', 'none'), ('status', 'replied')), fields=['visit_warn_at'], name='appeal_visit_warn_quiet'),
        ),
    ]
