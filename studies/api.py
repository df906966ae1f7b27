"""REST API (staff only): studies, their design summary and their CSV exports."""

import csv
import io

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import renderers, serializers, viewsets
from rest_framework.decorators import action

from .models import Study
from .staff_views import csv_response, wants_test_responses


class CSVRenderer(renderers.BaseRenderer):
    """Lets clients ask for text/csv. The exports stream their own rows; this renders errors, as CSV too."""

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(list(data))
        writer.writerow([str(value) for value in data.values()])
        return out.getvalue().encode()


class StudySerializer(serializers.ModelSerializer):
    conditions = serializers.SlugRelatedField(many=True, read_only=True, slug_field="name")
    scales = serializers.SlugRelatedField(many=True, read_only=True, slug_field="name")

    class Meta:
        model = Study
        fields = [
            "id",
            "title",
            "kind",
            "status",
            "conditions",
            "scales",
            "items_per_condition",
            "item_count",
            "item_seed",
            "target_ratings_per_item",
            "created_at",
            "opened_at",
            "closed_at",
        ]
        read_only_fields = fields


EXPORT_PARAMETERS = [
    OpenApiParameter(
        "include_test_responses", OpenApiTypes.BOOL, description="Also export simulated test responses."
    )
]


class StudyViewSet(viewsets.ReadOnlyModelViewSet):
    queryset = Study.objects.prefetch_related("conditions", "scales")
    serializer_class = StudySerializer

    def _export(self, request, kind: str):
        return csv_response(
            study=self.get_object(), kind=kind, include_test_responses=wants_test_responses(request)
        )

    @extend_schema(parameters=EXPORT_PARAMETERS, responses={(200, "text/csv"): OpenApiTypes.STR})
    @action(detail=True, renderer_classes=[renderers.JSONRenderer, CSVRenderer])
    def ratings(self, request, pk=None):
        """One row per rating and scale (the analysis input)."""
        return self._export(request, "ratings")

    @extend_schema(parameters=EXPORT_PARAMETERS, responses={(200, "text/csv"): OpenApiTypes.STR})
    @action(detail=True, renderer_classes=[renderers.JSONRenderer, CSVRenderer])
    def decisions(self, request, pk=None):
        """A decision study's answers: one row per participant and item (the decision analysis input)."""
        return self._export(request, "decisions")

    @extend_schema(parameters=EXPORT_PARAMETERS, responses={(200, "text/csv"): OpenApiTypes.STR})
    @action(detail=True, renderer_classes=[renderers.JSONRenderer, CSVRenderer])
    def participants(self, request, pk=None):
        return self._export(request, "participants")

    @extend_schema(parameters=EXPORT_PARAMETERS, responses={(200, "text/csv"): OpenApiTypes.STR})
    @action(detail=True, renderer_classes=[renderers.JSONRenderer, CSVRenderer])
    def items(self, request, pk=None):
        return self._export(request, "items")

    @extend_schema(parameters=EXPORT_PARAMETERS, responses={(200, "text/csv"): OpenApiTypes.STR})
    @action(detail=True, renderer_classes=[renderers.JSONRenderer, CSVRenderer])
    def comments(self, request, pk=None):
        return self._export(request, "comments")
