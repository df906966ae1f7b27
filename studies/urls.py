"""Annotator pages and staff study pages."""

app_name = "studies"
urlpatterns: list = []
