from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from . import health, views

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", health.healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("api/", include("models_app.api_urls")),
    path("api/", include("studies.api_urls")),
    path("runs/", include("models_app.urls")),
    path("", include("studies.urls")),
]

admin.site.site_header = "Distillation study"
admin.site.site_title = "Distillation study"
admin.site.index_title = "Runs, data and studies"
