"""Staff pages about runs (results); see views.py."""

app_name = "runs"
urlpatterns: list = []
