"""An analysis report becomes a job (`models_app.job_models.Job`): heartbeat, progress, log tail, attempt number,
and its attempts' table. Existing reports keep their rows and statuses; one running from before has no attempt,
and its start stands for its last heartbeat, so that the reaper can find it if its worker is gone."""

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


def heartbeat_from_start(apps, schema_editor):
    AnalysisReport = apps.get_model("studies", "AnalysisReport")
    AnalysisReport.objects.filter(status="running", heartbeat_at__isnull=True).update(
        heartbeat_at=models.F("started_at")
    )


class Migration(migrations.Migration):

    dependencies = [
        ('studies', '0004_decision_studies'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='AnalysisReportAttempt',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('number', models.PositiveIntegerField()),
                ('outcome', models.CharField(choices=[('running', 'running'), ('succeeded', 'succeeded'), ('failed', 'failed'), ('cancelled', 'cancelled'), ('died', 'died (no heartbeat)')], default='running', max_length=20)),
                ('task_id', models.CharField(blank=True, max_length=100)),
                ('host', models.CharField(blank=True, help_text="The worker's host name.", max_length=255)),
                ('pid', models.PositiveIntegerField(blank=True, help_text="The worker process's id.", null=True)),
                ('started_at', models.DateTimeField(default=django.utils.timezone.now)),
                ('finished_at', models.DateTimeField(blank=True, null=True)),
                ('heartbeat_at', models.DateTimeField(blank=True, null=True)),
                ('progress_from', models.PositiveIntegerField(default=0, help_text="The job's progress when it started.")),
                ('progress_to', models.PositiveIntegerField(default=0, help_text="The job's progress when it last wrote.")),
                ('error', models.TextField(blank=True)),
                ('log_tail', models.TextField(blank=True)),
            ],
            options={
                'ordering': ['number'],
                'abstract': False,
            },
        ),
        migrations.AddField(
            model_name='analysisreport',
            name='attempt',
            field=models.PositiveIntegerField(default=0, editable=False, help_text='The number of the attempt allowed to write (0: none yet).'),
        ),
        migrations.AddField(
            model_name='analysisreport',
            name='heartbeat_at',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='analysisreport',
            name='log_tail',
            field=models.TextField(blank=True),
        ),
        migrations.AddField(
            model_name='analysisreport',
            name='progress_done',
            field=models.PositiveIntegerField(default=0),
        ),
        migrations.AddField(
            model_name='analysisreport',
            name='progress_total',
            field=models.PositiveIntegerField(default=0),
        ),
        migrations.AddField(
            model_name='analysisreport',
            name='task_id',
            field=models.CharField(blank=True, max_length=100),
        ),
        migrations.AlterField(
            model_name='analysisreport',
            name='status',
            field=models.CharField(choices=[('created', 'created (not launched)'), ('queued', 'queued'), ('running', 'running'), ('succeeded', 'succeeded'), ('failed', 'failed'), ('cancelled', 'cancelled')], db_index=True, default='queued', max_length=20),
        ),
        migrations.AddConstraint(
            model_name='analysisreport',
            constraint=models.CheckConstraint(condition=models.Q(('progress_total', 0), ('progress_done__lte', models.F('progress_total')), _connector='OR'), name='analysis_report_progress_within_total'),
        ),
        migrations.AddField(
            model_name='analysisreportattempt',
            name='report',
            field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='attempts', to='studies.analysisreport'),
        ),
        migrations.AddConstraint(
            model_name='analysisreportattempt',
            constraint=models.UniqueConstraint(fields=('report', 'number'), name='analysis_report_attempt_number_unique'),
        ),
        migrations.AddConstraint(
            model_name='analysisreportattempt',
            constraint=models.UniqueConstraint(condition=models.Q(('finished_at__isnull', True)), fields=('report',), name='analysis_report_attempt_one_live'),
        ),
        migrations.AddConstraint(
            model_name='analysisreportattempt',
            constraint=models.CheckConstraint(condition=models.Q(('outcome__in', ['running', 'succeeded', 'failed', 'cancelled', 'died'])), name='analysis_report_attempt_outcome_valid'),
        ),
        migrations.AddConstraint(
            model_name='analysisreportattempt',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('finished_at__isnull', True), ('outcome', 'running')), models.Q(('finished_at__isnull', False), models.Q(('outcome', 'running'), _negated=True)), _connector='OR'), name='analysis_report_attempt_live_iff_running'),
        ),
        migrations.RunPython(heartbeat_from_start, migrations.RunPython.noop),
    ]
