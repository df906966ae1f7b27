"""Small HTTP pieces both apps use: the staff-only guard and streamed CSV downloads."""

import csv
from collections.abc import Iterable, Iterator
from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import StreamingHttpResponse
from django.urls import reverse

# A spreadsheet runs a cell that starts with one of these as a formula; a leading ' makes it text.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def staff_only(view):
    """Anonymous visitors are sent to the login page; signed-in users who are not staff get 403."""

    @wraps(view)
    def guarded(request, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path(), reverse("admin:login"))
        if not request.user.is_staff:
            raise PermissionDenied("This page is for staff only.")
        return view(request, *args, **kwargs)

    return guarded


def safe_cell(value):
    """Text that a spreadsheet would run as a formula gets a leading quote; numbers pass unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        try:
            float(value)
        except ValueError:
            return "'" + value
    return value


class _Line:
    """A file-like object whose write() hands the line back, so that csv.writer can feed a stream."""

    def write(self, value: str) -> str:
        return value


def csv_lines(rows: Iterable[Iterable]) -> Iterator[str]:
    """CSV text, one line per row (the header is the first row), safe to open in a spreadsheet."""
    writer = csv.writer(_Line(), lineterminator="\n")
    for row in rows:
        yield writer.writerow([safe_cell(value) for value in row])


def csv_download(lines: Iterable[str], filename: str) -> StreamingHttpResponse:
    """Stream CSV lines as a file download, so large tables never sit in memory."""
    response = StreamingHttpResponse(lines, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
