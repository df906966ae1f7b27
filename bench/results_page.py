"""What the results page costs on a study of the paper's size, and how long its background report takes.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/distill .venv/bin/python -m bench.results_page [--participants 117]

In a scratch test database (created and dropped here), a study over 60 real CommonsenseQA validation questions
(`--data`, default ../shared/data/cqa) with four conditions of real explanations (the T5-large students' of the
shared data, revised and unrevised, and the LLaMA-2 teacher's, revised and unrevised) x 3 items each per
participant x 5 scales, one attention check, is filled with simulated participants (the paper had 117) who rate
one condition higher. It times `compute_report` once (what the worker runs: the whole analysis and its files), then,
each as the median of 5, the two parts of a results page view (reading every rating row to fingerprint the data
and size the sample, without fitting a model; reading the stored report's tables back from CSV), the whole page
and one table download. Prints the figures and the database queries of one page view.
"""

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def timed(action, repeat: int = 5) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


BETTER = "teacher/revised"  # rated higher by the simulated participants


def open_study_over_real_explanations(data: Path, *, questions: int):
    """An open study whose conditions are the shared data's real explanations of its first `questions`."""
    from models_app.data_import import import_questions
    from studies import services

    dataset = import_questions(path=data / "cqa_validation.jsonl", dataset_name="CQA (bench)").dataset
    study = services.create_study(
        title="Rating explanations (bench)", item_count=questions, attention_checks=0
    )
    teacher = [json.loads(line) for line in (data / "teacher_llama2_validation.jsonl").open()]
    conditions = {
        "t5-large/revised": (data / "student_t5large_mt_cf_revised_validation.jsonl")
        .read_text()
        .splitlines(),
        "t5-large/unrevised": (data / "student_t5large_mt_cf_unrevised_validation.jsonl")
        .read_text()
        .splitlines(),
        "teacher/unrevised": [json.dumps(row) for row in teacher],
        BETTER: [json.dumps(row | {"explanation": row["revised_explanation"]}) for row in teacher],
    }
    for name, lines in conditions.items():
        parsed = services.parse_condition_file(lines=lines, dataset=dataset, source=name)
        services.add_jsonl_condition(study=study, name=name, parsed=parsed, source=name)
    services.add_attention_check(
        study=study, position=7
    )  # the middle of 4 x 3 items, as create_study places it
    services.sample_items(study=study, seed=7)
    return services.open_study(study=study)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--participants", type=int, default=117)
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "cqa")
    args = parser.parse_args()

    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "distill_site.settings")
    import django

    django.setup()
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext, setup_databases, teardown_databases
    from django.urls import reverse

    settings.ALLOWED_HOSTS = ["testserver"]
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    databases = setup_databases(verbosity=0, interactive=False)
    try:
        from studies import reports, services
        from studies.analysis_selectors import analysis_inputs
        from studies.models import AnalysisReport, Rating

        settings.ARTIFACTS_DIR = Path(tempfile.mkdtemp(prefix="bench-results-"))
        study = open_study_over_real_explanations(args.data, questions=60)
        start = time.perf_counter()
        services.fill_with_test_responses(
            study=study, participants=args.participants, seed=1, condition_means={BETTER: 3.4}
        )
        ratings = Rating.objects.filter(assignment__participant__study=study).count()
        print(
            f"study: {args.participants} participants, {ratings} rating rows "
            f"(filled in {time.perf_counter() - start:.0f} s)"
        )
        client = Client()
        client.force_login(get_user_model().objects.create_user("bench", is_staff=True, is_superuser=True))
        page = reverse("studies:results", args=[study.pk])
        # This study's participants are simulated (test responses): its report includes them.
        report, _ = reports.request_report(study=study, include_test_responses=True, in_background=False)
        start = time.perf_counter()
        reports.compute_report(report_id=report.pk)
        print(f"compute_report (the worker's job, once): {time.perf_counter() - start:.1f} s")
        report.refresh_from_db()
        assert report.status == AnalysisReport.Status.SUCCEEDED, report.error

        def read_data():
            inputs = analysis_inputs(study=study, include_test_responses=True)
            inputs.sample_size(include_test_responses=True)

        print(f"page part: read the data, fingerprint and size the sample: {1000 * timed(read_data):.0f} ms")
        sections = timed(lambda: reports.report_sections(report))
        print(f"page part: read back and format the report's tables: {1000 * sections:.0f} ms")
        print(f"results page with the report (all of it): {1000 * timed(lambda: client.get(page)):.0f} ms")
        with CaptureQueriesContext(connection) as queries:
            client.get(page)
        print(f"database queries per page view: {len(queries)}")
        table = reverse("studies:report-file", args=[study.pk, report.pk, "tables/pairwise_dunn_vda.csv"])
        print(f"table download: {1000 * timed(lambda: b''.join(client.get(table).streaming_content)):.1f} ms")
    finally:
        teardown_databases(databases, verbosity=0)


if __name__ == "__main__":
    main()
