"""`python manage.py analyze_study <id>`: the report `python -m studies.analysis` writes, from the database."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from studies import reports
from studies.analysis import ANALYSED_STATUSES, PARTICIPANT_STATUSES, InputError, summary_text
from studies.analysis.ratings_analysis import ALPHA
from studies.analysis_selectors import analysis_inputs
from studies.models import AnalysisReport, Study


class Command(BaseCommand):
    help = (
        "Analyse a study's ratings and the accuracies of the training runs behind its conditions: tables as CSV, "
        "plots, a Markdown and an HTML report, and the key numbers printed. Without --out the report is stored as "
        "the study's latest (shown on its results page) under ARTIFACTS_DIR/reports/study-<id>/."
    )

    def add_arguments(self, parser):
        parser.add_argument("study_id", type=int)
        parser.add_argument(
            "--out",
            type=Path,
            help="write the report into this folder instead (not shown on the results page)",
        )
        parser.add_argument(
            "--reference", default="", help="reference condition of the regressions (default: the first)"
        )
        parser.add_argument(
            "--include-test-responses", action="store_true", help="analyse simulated test responses too"
        )
        parser.add_argument(
            "--include-status",
            action="append",
            choices=PARTICIPANT_STATUSES,
            help=f"participant status to analyse (repeatable; default: {', '.join(ANALYSED_STATUSES)})",
        )
        parser.add_argument(
            "--alpha", type=float, default=ALPHA, help="significance level (default: %(default)s)"
        )

    def handle(self, *args, study_id: int, out: Path | None, **options):
        study = Study.objects.filter(pk=study_id).first()
        if study is None:
            known = ", ".join(
                f"{pk} ({title})" for pk, title in Study.objects.values_list("pk", "title")[:20]
            )
            raise CommandError(f"no study with id {study_id}; studies: {known or 'none yet'}")
        chosen = {
            "include_test_responses": options["include_test_responses"],
            "include_statuses": tuple(options["include_status"] or ANALYSED_STATUSES),
            "reference": options["reference"],
            "alpha": options["alpha"],
        }
        try:
            reports.check_options(
                study=study,
                reference=chosen["reference"],
                include_statuses=chosen["include_statuses"],
                alpha=chosen["alpha"],
            )
        except ValueError as exc:
            raise CommandError(str(exc)) from exc

        if out is not None:
            inputs = analysis_inputs(study=study, include_test_responses=chosen["include_test_responses"])
            try:
                report = reports.write_report(study=study, inputs=inputs, out_dir=out, **chosen)
            except (InputError, ValueError) as exc:
                raise CommandError(str(exc)) from exc
            summary, notes, folder = report.summary, inputs.notes, out
        else:
            stored, created = reports.request_report(study=study, in_background=False, **chosen)
            if not created:
                raise CommandError(f"{reports.busy_text(stored)}, or write elsewhere with --out")
            reports.compute_report(report_id=stored.pk)
            stored.refresh_from_db()
            if stored.status != AnalysisReport.Status.SUCCEEDED:
                raise CommandError(stored.error)
            summary, notes, folder = dict(stored.summary), stored.notes, stored.directory

        self.stdout.write(summary_text(summary))
        if notes:
            self.stdout.write("\n== Notes ==\n" + "\n".join(notes))
        self.stdout.write(
            f"\nReport: {folder / 'report.html'} and {folder / 'report.md'}; tables in {folder / 'tables'}"
        )
