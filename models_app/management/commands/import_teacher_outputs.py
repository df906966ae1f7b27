from django.core.management.base import BaseCommand, CommandError

from models_app.data_import import import_teacher_outputs
from models_app.models import Dataset
from training.cqa import DataError


class Command(BaseCommand):
    help = (
        "Import teacher outputs (the recorded layout of teacher_llama2_*.jsonl, or the records `python -m training "
        "generate` writes) as a succeeded generation run of a recorded teacher. The questions must be imported "
        "first. All or nothing; importing the same file again adds nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument("path", help="JSONL file, e.g. ../shared/data/cqa/teacher_llama2_train.jsonl")
        parser.add_argument("--dataset", required=True, help="name of the dataset holding the questions")
        parser.add_argument(
            "--teacher", required=True, help="teacher name, e.g. llama2-70b-chat; created if new"
        )

    def handle(self, *args, path, dataset, teacher, **options):
        try:
            dataset_row = Dataset.objects.get(name=dataset)
        except Dataset.DoesNotExist:
            raise CommandError(
                f"no dataset named {dataset!r}; import its questions first: manage.py import_questions FILE "
                f"--dataset {dataset}"
            ) from None
        try:
            summary = import_teacher_outputs(path=path, dataset=dataset_row, teacher_name=teacher)
        except (DataError, FileNotFoundError) as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(self.style.SUCCESS(f"Teacher outputs: {summary}"))
