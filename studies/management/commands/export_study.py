"""`python manage.py export_study <id> <dir>`: the study's CSV files, as the staff page serves them."""

import csv
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from studies.export import write_study_export
from studies.models import Study


class Command(BaseCommand):
    help = "Write ratings.csv, participants.csv, items.csv and comments.csv of a study into a folder."

    def add_arguments(self, parser):
        parser.add_argument("study_id", type=int)
        parser.add_argument("directory", type=Path)
        parser.add_argument(
            "--include-test-responses", action="store_true", help="Also export simulated test responses."
        )

    def handle(self, *args, study_id: int, directory: Path, include_test_responses: bool, **options):
        study = Study.objects.filter(pk=study_id).first()
        if study is None:
            known = ", ".join(
                f"{pk} ({title})" for pk, title in Study.objects.values_list("pk", "title")[:20]
            )
            raise CommandError(f"no study with id {study_id}; studies: {known or 'none yet'}")
        for path in write_study_export(
            study=study, directory=directory, include_test_responses=include_test_responses
        ):
            with path.open(encoding="utf-8") as handle:
                rows = sum(1 for _ in csv.reader(handle)) - 1
            self.stdout.write(f"{path}: {rows} rows")
