from django.core.management.base import BaseCommand, CommandError

from models_app.data_import import import_questions
from models_app.models import Question
from training.cqa import DataError


class Command(BaseCommand):
    help = (
        "Import CommonsenseQA questions from a JSONL file (Hugging Face commonsense_qa or CoS-E layout) into a "
        "dataset. All or nothing; importing the same file again adds nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument("path", help="JSONL file, e.g. ../shared/data/cqa/cqa_train.jsonl")
        parser.add_argument("--dataset", required=True, help="dataset name; created if new")
        parser.add_argument(
            "--split",
            choices=Question.Split.values,
            help="split the file holds (default: from the file name, e.g. cqa_train.jsonl → train)",
        )

    def handle(self, *args, path, dataset, split, **options):
        try:
            summary = import_questions(path=path, dataset_name=dataset, split=split)
        except (DataError, FileNotFoundError) as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(self.style.SUCCESS(f"Questions: {summary}"))
