# The checkpoint path of the run's last checkpoint is named after its role (Checkpoint.Role.LAST), as
# best_checkpoint is; a rename, so stored paths are kept.

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('models_app', '0005_datasets_kind_fields_test_split'),
    ]

    operations = [
        migrations.RenameField(
            model_name='trainingrun',
            old_name='final_checkpoint',
            new_name='last_checkpoint',
        ),
    ]
