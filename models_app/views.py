"""Staff pages and downloads about runs: the results page, the run table and predictions as CSV."""

import csv
from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import StreamingHttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone

from . import charts, exports, selectors
from .hyperparameters import TRAINING_DEFAULTS
from .models import Dataset, InferenceRun


def staff_only(view):
    """Anonymous visitors are sent to the login page; signed-in users who are not staff get 403."""

    @wraps(view)
    def guarded(request, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path(), reverse("admin:login"))
        if not request.user.is_staff:
            raise PermissionDenied("Only staff may see runs and results.")
        return view(request, *args, **kwargs)

    return guarded


class _Echo:
    """A file-like object that hands back what csv.writer writes, so that rows stream out one by one."""

    def write(self, value: str) -> str:
        return value


def _csv_response(rows, filename: str) -> StreamingHttpResponse:
    writer = csv.writer(_Echo())
    response = StreamingHttpResponse(
        (writer.writerow(row) for row in rows), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _dataset_filter(request) -> Dataset | None:
    dataset_id = request.GET.get("dataset")
    return get_object_or_404(Dataset, pk=dataset_id) if dataset_id else None


@staff_only
def results(request):
    dataset = _dataset_filter(request)
    table = selectors.training_results(dataset=dataset)
    context = {
        "results": table,
        "dataset": dataset,
        "datasets": Dataset.objects.filter(training_runs__isnull=False).distinct().order_by("name"),
        "chart": charts.accuracy_chart(table.cells, chance=table.chance),
        "chance_percent": 100 * table.chance,
        "paper_defaults": TRAINING_DEFAULTS,
    }
    return render(request, "models_app/results.html", context)


@staff_only
def results_csv(request):
    dataset = _dataset_filter(request)
    table = selectors.training_results(dataset=dataset)
    stamp = timezone.now().strftime("%Y%m%d-%H%M")
    return _csv_response(exports.run_table(table), f"training-runs-{stamp}.csv")


@staff_only
def predictions_csv(request, pk: int):
    run = get_object_or_404(InferenceRun.objects.select_related("training_run"), pk=pk)
    return _csv_response(exports.prediction_table(run), f"predictions-inference-run-{run.pk}.csv")
