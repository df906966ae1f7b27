"""REST API (staff only): runs and their state."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from . import services
from .models import Run


class RunSerializer(serializers.ModelSerializer):
    class Meta:
        model = Run
        fields = [
            "id",
            "kind",
            "name",
            "status",
            "progress_done",
            "progress_total",
            "config",
            "error",
            "log_tail",
            "task_id",
            "created_at",
            "started_at",
            "finished_at",
            "heartbeat_at",
        ]
        read_only_fields = fields


class RunViewSet(viewsets.ReadOnlyModelViewSet):
    queryset = Run.objects.all()
    serializer_class = RunSerializer

    @extend_schema(request=None, responses=RunSerializer)
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        run = self.get_object()
        if not services.cancel_run(run=run):
            return Response(
                {"detail": f"run {run.pk} is {run.status}, not queued or running"}, status.HTTP_409_CONFLICT
            )
        run.refresh_from_db()
        return Response(RunSerializer(run).data)
