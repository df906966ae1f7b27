from django.urls import include, path
from rest_framework.routers import DefaultRouter

from . import api

router = DefaultRouter()
router.register("runs", api.RunViewSet, basename="run")

urlpatterns = [path("", include(router.urls))]
