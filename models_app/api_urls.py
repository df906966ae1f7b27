from django.urls import include, path
from rest_framework.routers import DefaultRouter

from . import api

router = DefaultRouter()
router.register("runs", api.RunViewSet, basename="run")
router.register("generation-runs", api.GenerationRunViewSet, basename="generation-run")
router.register("training-runs", api.TrainingRunViewSet, basename="training-run")
router.register("inference-runs", api.InferenceRunViewSet, basename="inference-run")
router.register("datasets", api.DatasetViewSet, basename="dataset")
router.register("teachers", api.TeacherViewSet, basename="teacher")

urlpatterns = [path("", include(router.urls))]
