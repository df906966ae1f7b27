"""Staff pages about runs: results, run table and predictions as CSV."""

from django.urls import path

from . import views

app_name = "runs"
urlpatterns = [
    path("results/", views.results, name="results"),
    path("results.csv", views.results_csv, name="results-csv"),
    path("inference/<int:pk>/predictions.csv", views.predictions_csv, name="predictions-csv"),
]
