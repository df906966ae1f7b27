"""Annotator pages under /s/ (by entry link, then by the participant's unguessable token) and staff pages
under /studies/<id>/: the dashboard with its CSV downloads, and the results page with its analysis report."""

from django.urls import path

from . import results_views, staff_views, views

app_name = "studies"
urlpatterns = [
    path("s/<str:entry_token>/", views.entry, name="entry"),
    path("s/p/<str:token>/", views.participant_home, name="participant"),
    path("s/p/<str:token>/consent/", views.consent, name="consent"),
    path("s/p/<str:token>/instructions/", views.instructions, name="instructions"),
    path("s/p/<str:token>/about-you/", views.demographics, name="demographics"),
    path("s/p/<str:token>/item/", views.current_item, name="current-item"),
    path("s/p/<str:token>/item/<int:position>/", views.item, name="item"),
    path("s/p/<str:token>/item/<int:position>/advice/", views.item_advice, name="item-advice"),
    path("s/p/<str:token>/done/", views.done, name="done"),
    path("s/p/<str:token>/end/", views.screened_out, name="screened-out"),
    path("studies/", staff_views.study_list, name="list"),
    path("studies/<int:study_id>/", staff_views.dashboard, name="dashboard"),
    path("studies/<int:study_id>/export/<str:kind>.csv", staff_views.export_csv, name="export"),
    path("studies/<int:study_id>/results/", results_views.results, name="results"),
    path("studies/<int:study_id>/results/compute/", results_views.compute, name="results-compute"),
    path(
        "studies/<int:study_id>/results/<int:report_id>/report.zip",
        results_views.report_zip,
        name="report-zip",
    ),
    path(
        "studies/<int:study_id>/results/<int:report_id>/<path:name>",
        results_views.report_file,
        name="report-file",
    ),
]
