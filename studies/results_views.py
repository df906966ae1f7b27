"""Staff pages of a study's analysis: the results page, its compute button and the report's files.

The analysis (mixed models included) takes seconds to minutes, so a page never computes it: the button queues a
report that a worker computes (`studies.reports`), and the page shows the latest report and the state of the next.
The analysis libraries take seconds to import (statsmodels, matplotlib), so these views import them on first use
rather than when the URLconf loads.
"""

from django.contrib import messages
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from distill_site.web import staff_only
from models_app.hyperparameters import TRAINING_DEFAULTS
from models_app.selectors import experiment_training_results

from .models import AnalysisReport, Study
from .staff_forms import ComputeReportForm

REFRESH_SECONDS = 4  # how often the page reloads itself while a report is computed
ATTACHMENT_SUFFIXES = (".csv", ".md")  # downloaded; plots and report.html open in the browser


@staff_only
def results(request, study_id: int):
    from . import reports
    from .analysis import InputError
    from .analysis_selectors import analysis_inputs

    study = get_object_or_404(Study, pk=study_id)
    state = reports.report_state(study=study)
    shown = state.shown
    include_tests = shown.include_test_responses if shown else False
    inputs = analysis_inputs(study=study, include_test_responses=include_tests)
    try:
        size = inputs.sample_size(
            include_test_responses=include_tests,
            **({"include_statuses": shown.include_statuses} if shown else {}),
        )
        size_problem = ""
    except InputError as exc:
        size, size_problem = None, str(exc)
    form = ComputeReportForm(
        study=study,
        initial={"include_test_responses": include_tests, "reference": shown.reference if shown else ""},
    )
    context = {
        "study": study,
        "state": state,
        "shown": shown,
        "up_to_date": shown is not None and shown.fingerprint == inputs.fingerprint,
        "rating_rows_now": len(inputs.ratings),
        "what": "decisions" if study.is_decision else "ratings",
        "rows_word": "decisions" if study.is_decision else "rating rows",
        "data_word": "decisions" if study.is_decision else "ratings and accuracies",
        "size": size,
        "size_problem": size_problem,
        "form": form,
        "sections": reports.report_sections(shown) if shown else [],
        "tables": [name for name in shown.files if name.startswith("tables/")] if shown else [],
        "plots": [name for name in shown.files if name.startswith("plots/")] if shown else [],
        "refresh_seconds": REFRESH_SECONDS if state.active else None,
        **_accuracy_context(study),
    }
    return render(request, "studies/staff/results.html", context)


def _accuracy_context(study: Study) -> dict:
    """The students behind the study's conditions, for the note on students that answer near chance."""
    behind = [
        condition.inference_run.training_run
        for condition in study.conditions.select_related("inference_run__training_run")
        if condition.inference_run_id is not None
    ]
    results = experiment_training_results(training_runs=behind)
    return {"results": results, "chance_percent": 100 * results.chance, "paper_defaults": TRAINING_DEFAULTS}


@staff_only
@require_POST
def compute(request, study_id: int):
    from . import reports
    from .analysis import InputError
    from .analysis_selectors import analysis_inputs

    study = get_object_or_404(Study, pk=study_id)
    form = ComputeReportForm(request.POST, study=study)
    if not form.is_valid():
        messages.error(request, "Choose a reference condition of this study.")
        return redirect("studies:results", study.pk)
    include_tests = form.cleaned_data["include_test_responses"]
    try:
        size = analysis_inputs(study=study, include_test_responses=include_tests).sample_size(
            include_test_responses=include_tests
        )
    except InputError as exc:
        messages.error(
            request, f"The {'decisions' if study.is_decision else 'ratings'} cannot be analysed: {exc}"
        )
        return redirect("studies:results", study.pk)
    if size.blocking:
        hint = "" if include_tests else " Test responses are left out unless you include them."
        messages.error(request, f"Nothing to analyse yet: {'; '.join(size.blocking)}.{hint}")
        return redirect("studies:results", study.pk)
    report, created = reports.request_report(
        study=study,
        include_test_responses=include_tests,
        reference=form.cleaned_data["reference"],
        requested_by=request.user,
    )
    if created:
        messages.success(
            request, "Computing the report in the background; this page shows it when it is done."
        )
    else:
        messages.info(request, f"Not started: {reports.busy_text(report)}.")
    return redirect("studies:results", study.pk)


def _succeeded_report(study_id: int, report_id: int) -> AnalysisReport:
    return get_object_or_404(
        AnalysisReport, pk=report_id, study_id=study_id, status=AnalysisReport.Status.SUCCEEDED
    )


@staff_only
def report_file(request, study_id: int, report_id: int, name: str):
    from . import reports

    report = _succeeded_report(study_id, report_id)
    path = reports.report_file(report, name)
    if path is None:
        raise Http404(f"report {report.pk} has no file {name!r}")
    attachment = path.suffix in ATTACHMENT_SUFFIXES
    response = FileResponse(
        path.open("rb"),
        as_attachment=attachment,
        filename=f"study-{study_id}-report-{report.pk}-{path.name}" if attachment else path.name,
    )
    response["Cache-Control"] = "private, max-age=3600"  # a report's files never change
    return response


@staff_only
def report_zip(request, study_id: int, report_id: int):
    from . import reports

    report = _succeeded_report(study_id, report_id)
    response = HttpResponse(reports.report_zip(report), content_type="application/zip")
    response["Content-Disposition"] = f'attachment; filename="study-{study_id}-report-{report.pk}.zip"'
    return response
