"""Each run gets a uuid that names its artifact folder (ids repeat across databases); existing runs get their own."""

import uuid

from django.db import migrations, models


def give_each_run_a_uid(apps, schema_editor):
    Run = apps.get_model("models_app", "Run")
    for run in Run.objects.only("pk").iterator():
        Run.objects.filter(pk=run.pk).update(uid=uuid.uuid4())


class Migration(migrations.Migration):
    dependencies = [("models_app", "0002_created_status_recorded_generation_and_choice_constraints")]

    operations = [
        migrations.AddField(model_name="run", name="uid", field=models.UUIDField(null=True, editable=False)),
        migrations.RunPython(give_each_run_a_uid, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="run",
            name="uid",
            field=models.UUIDField(default=uuid.uuid4, editable=False, unique=True),
        ),
    ]
