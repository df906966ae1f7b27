"""Staff pages and downloads about runs: the results page, the run table and predictions as CSV."""

from django.shortcuts import get_object_or_404, render
from django.utils import timezone

from distill_site.web import csv_download, csv_lines, staff_only

from . import charts, exports, selectors
from .hyperparameters import TRAINING_DEFAULTS
from .models import Dataset, InferenceRun


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
    return csv_download(csv_lines(exports.run_table(table)), f"training-runs-{stamp}.csv")


@staff_only
def predictions_csv(request, pk: int):
    run = get_object_or_404(InferenceRun.objects.select_related("training_run"), pk=pk)
    return csv_download(csv_lines(exports.prediction_table(run)), f"predictions-inference-run-{run.pk}.csv")
