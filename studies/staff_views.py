"""Staff pages under /studies/: the list of studies, each study's dashboard and its CSV downloads."""

from django.db.models import Count, Q
from django.http import Http404, StreamingHttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse

from distill_site.web import csv_download, staff_only

from . import selectors
from .export import csv_lines, export_files
from .models import Participant, Study
from .prolific import study_entry_url


def wants_test_responses(request) -> bool:
    return request.GET.get("include_test_responses", "").lower() in ("1", "true", "yes")


def csv_response(*, study: Study, kind: str, include_test_responses: bool) -> StreamingHttpResponse:
    """A CSV download, streamed row by row (large studies never sit in memory)."""
    files = export_files(study)
    if kind not in files:
        raise Http404(f"no export called {kind!r}; this study has {', '.join(files)}")
    lines = csv_lines(study=study, kind=kind, include_test_responses=include_test_responses)
    suffix = "-with-test-responses" if include_test_responses else ""
    return csv_download(lines, f"study-{study.pk}-{kind}{suffix}.csv")


@staff_only
def study_list(request):
    real = Q(participants__is_test=False)
    studies = Study.objects.annotate(
        started=Count("participants", filter=real),
        completed=Count("participants", filter=real & Q(participants__status=Participant.Status.COMPLETED)),
    )
    return render(request, "studies/staff/list.html", {"studies": studies})


@staff_only
def dashboard(request, study_id: int):
    study = get_object_or_404(Study, pk=study_id)
    context = {
        "study": study,
        "board": selectors.study_dashboard(study=study),
        "entry_url": study_entry_url(request, study),
        "exports": [(kind, export.filename) for kind, export in export_files(study).items()],
        "results_url": reverse("studies:results", args=[study.pk]),
    }
    return render(request, "studies/staff/dashboard.html", context)


@staff_only
def export_csv(request, study_id: int, kind: str):
    study = get_object_or_404(Study, pk=study_id)
    return csv_response(study=study, kind=kind, include_test_responses=wants_test_responses(request))
