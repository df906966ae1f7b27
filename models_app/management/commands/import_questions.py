from django.core.management.base import BaseCommand, CommandError

from models_app.data_import import import_questions
from models_app.models import Question
from training.cqa import DataError
from training.datasets import DATASETS


class Command(BaseCommand):
    help = (
        "Import questions of a registry dataset (CommonsenseQA, StrategyQA, e-SNLI) from a JSONL file into a "
        "dataset. All or nothing; importing the same file again adds nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument("path", help="JSONL file, e.g. ../shared/data/cqa/cqa_train.jsonl")
        parser.add_argument("--dataset", required=True, help="dataset name; created if new")
        parser.add_argument(
            "--kind",
            choices=list(DATASETS),
            help="which registry dataset the file holds (default: what its name or fields say)",
        )
        parser.add_argument(
            "--split",
            choices=Question.Split.values,
            help="split the file holds (default: from the file name, e.g. esnli_test.jsonl → test)",
        )

    def handle(self, *args, path, dataset, split, kind, **options):
        try:
            summary = import_questions(path=path, dataset_name=dataset, split=split, kind=kind)
        except (DataError, FileNotFoundError) as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(self.style.SUCCESS(f"Questions: {summary}"))
