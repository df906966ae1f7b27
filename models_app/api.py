"""REST API (staff only): datasets, teachers, runs of each kind; launch, cancel, resume; predictions.

Serializers check and create through the same functions as the admin (`run_settings`, `services`); DRF turns the
Django ValidationError of a serializer's `validate` into a 400 with the same per-field messages.
"""

from django.db.models import Count, Q
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from . import selectors, services
from .models import (
    Checkpoint,
    Dataset,
    DataVariant,
    GenerationRun,
    InferenceRun,
    Prediction,
    Run,
    RunAttempt,
    Teacher,
    TrainingMethod,
    TrainingRun,
)
from .run_settings import validate_run, validate_training_grid


class DetailSerializer(serializers.Serializer):
    detail = serializers.CharField()


ATTEMPT_LOG_LINES = 50  # of each attempt's log, in the API


class RunAttemptSerializer(serializers.ModelSerializer):
    log_tail = serializers.SerializerMethodField(help_text=f"The last {ATTEMPT_LOG_LINES} lines of its log.")
    wall_seconds = serializers.FloatField(read_only=True, allow_null=True)

    class Meta:
        model = RunAttempt
        fields = [
            "number",
            "outcome",
            "task_id",
            "host",
            "pid",
            "started_at",
            "finished_at",
            "heartbeat_at",
            "wall_seconds",
            "progress_from",
            "progress_to",
            "error",
            "log_tail",
        ]
        read_only_fields = fields

    def get_log_tail(self, attempt: RunAttempt) -> str:
        return "\n".join(attempt.log_tail.splitlines()[-ATTEMPT_LOG_LINES:])


class RunHistoryMixin(serializers.Serializer):
    """The run's attempts, its status as people read it ("stopping"), and totals over all attempts."""

    state = serializers.SerializerMethodField(
        help_text='The status, or "stopping" while an attempt still runs on a cancelled or relaunched run.'
    )
    attempts = RunAttemptSerializer(many=True, read_only=True)
    total_wall_seconds = serializers.SerializerMethodField(help_text="Time spent by all attempts.")
    total_progress = serializers.SerializerMethodField(
        help_text="Progress made by all attempts (work redone after a crash counts again)."
    )

    def get_state(self, run: Run) -> str:
        return selectors.run_state(run=run)

    @extend_schema_field(OpenApiTypes.FLOAT)
    def get_total_wall_seconds(self, run: Run) -> float:
        return sum(a.wall_seconds or 0.0 for a in run.attempts.all())

    def get_total_progress(self, run: Run) -> int:
        return sum(max(a.progress_to - a.progress_from, 0) for a in run.attempts.all())


HISTORY_FIELDS = ["state", "attempt", "attempts", "total_wall_seconds", "total_progress"]
RUN_FIELDS = [
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
    *HISTORY_FIELDS,
]
RUN_READ_ONLY = [name for name in RUN_FIELDS if name != "name"]


class RunSerializer(RunHistoryMixin, serializers.ModelSerializer):
    class Meta:
        model = Run
        fields = RUN_FIELDS
        read_only_fields = RUN_FIELDS


class DatasetSerializer(serializers.ModelSerializer):
    class Meta:
        model = Dataset
        fields = ["id", "name", "kind", "source", "created_at"]
        read_only_fields = fields


class TeacherSerializer(serializers.ModelSerializer):
    class Meta:
        model = Teacher
        fields = ["id", "name", "backend", "model", "base_url", "endpoint", "api_key_env", "decoding"]
        read_only_fields = fields


LAUNCH_HELP = "Queue the run at once (default); false leaves it `created`, to launch later."


class NewRunMixin(serializers.Serializer):
    """Creates a run of the serializer's model: `validate` checks it with `run_settings.validate_run` (DRF turns
    its Django ValidationError into a 400 with the same per-field messages), `create` saves what it returned."""

    launch = serializers.BooleanField(write_only=True, default=True, help_text=LAUNCH_HELP)

    def validate(self, attrs):
        launch = attrs.pop("launch")
        generation_runs = attrs.pop("generation_runs", [])
        run = self.Meta.model(**attrs)
        return {"launch": launch, "validated": validate_run(run=run, generation_runs=generation_runs)}

    def create(self, validated_data):
        return services.create_run(
            validated=validated_data["validated"],
            created_by=self.context["request"].user,
            launch=validated_data["launch"],
        )


class GenerationRunSerializer(NewRunMixin, RunHistoryMixin, serializers.ModelSerializer):
    class Meta:
        model = GenerationRun
        fields = [*RUN_FIELDS, *GenerationRun.SETTINGS_FIELDS, "launch"]
        read_only_fields = RUN_READ_ONLY
        extra_kwargs = {
            "method": {"help_text": "`recorded` runs are made by importing a file, not launched."}
        }


class CheckpointSerializer(serializers.ModelSerializer):
    class Meta:
        model = Checkpoint
        fields = ["role", "step", "path", "eval_accuracy"]
        read_only_fields = fields


TRAINING_RESULT_FIELDS = [*TrainingRun.RESULT_FIELDS, "checkpoints"]


class TrainingRunSerializer(NewRunMixin, RunHistoryMixin, serializers.ModelSerializer):
    checkpoints = CheckpointSerializer(many=True, read_only=True)
    hyperparameters = serializers.JSONField(
        required=False, help_text="Overrides of the paper's defaults; the stored value is the full set."
    )

    class Meta:
        model = TrainingRun
        fields = [*RUN_FIELDS, *TrainingRun.SETTINGS_FIELDS, *TRAINING_RESULT_FIELDS, "launch"]
        read_only_fields = [*RUN_READ_ONLY, *TRAINING_RESULT_FIELDS]


class TrainingGridSerializer(serializers.Serializer):
    dataset = serializers.PrimaryKeyRelatedField(queryset=Dataset.objects.all())
    generation_runs = serializers.PrimaryKeyRelatedField(queryset=GenerationRun.objects.all(), many=True)
    students = serializers.ListField(child=serializers.CharField(), allow_empty=False)
    methods = serializers.ListField(
        child=serializers.ChoiceField(choices=TrainingMethod.choices), allow_empty=False
    )
    data_variants = serializers.ListField(
        child=serializers.ChoiceField(choices=DataVariant.choices), allow_empty=False
    )
    seeds = serializers.ListField(child=serializers.IntegerField(min_value=0), allow_empty=False)
    hyperparameters = serializers.JSONField(required=False, help_text="Overrides of the paper's defaults.")
    launch = serializers.BooleanField(default=True, help_text=LAUNCH_HELP)

    def validate(self, attrs):
        launch = attrs.pop("launch")
        return {"launch": launch, "grid": validate_training_grid(**attrs)}


class GridLaunchSerializer(serializers.Serializer):
    created = TrainingRunSerializer(many=True)
    existing = TrainingRunSerializer(
        many=True, help_text="Runs with the same settings made before, left as they are."
    )


class InferenceRunSerializer(NewRunMixin, RunHistoryMixin, serializers.ModelSerializer):
    dataset = serializers.PrimaryKeyRelatedField(
        queryset=Dataset.objects.all(), required=False, help_text="Default: the training run's dataset."
    )
    n_predictions = serializers.SerializerMethodField()
    accuracy = serializers.SerializerMethodField()

    class Meta:
        model = InferenceRun
        fields = [
            *RUN_FIELDS,
            *InferenceRun.SETTINGS_FIELDS,
            "metrics",
            "n_predictions",
            "accuracy",
            "launch",
        ]
        read_only_fields = [*RUN_READ_ONLY, "metrics"]

    def get_n_predictions(self, run: InferenceRun) -> int:
        return getattr(run, "n_predictions", 0)

    @extend_schema_field(OpenApiTypes.FLOAT)
    def get_accuracy(self, run: InferenceRun) -> float | None:
        """Share of correct stored predictions; null before any."""
        n = getattr(run, "n_predictions", 0)
        return run.n_correct / n if n else None


class PredictionSerializer(serializers.ModelSerializer):
    question_id = serializers.CharField(source="question.external_id")
    question = serializers.CharField(source="question.text")
    choices = serializers.ListField(child=serializers.CharField(), source="question.choices")
    gold_label = serializers.CharField(source="question.answer_key")
    predicted_answer = serializers.CharField(source="predicted_text")

    class Meta:
        model = Prediction
        fields = [
            "question_id",
            "question",
            "choices",
            "gold_label",
            "predicted_label",
            "predicted_answer",
            "correct",
            "parse_rule",
            "explanation",
            "raw_output",
        ]
        read_only_fields = fields


STATUS_PARAMETER = OpenApiParameter(
    "status", str, enum=Run.Status.values, description="Only runs of this status."
)


class RunActionsMixin:
    """Cancel, launch and resume, answering with the run as its own kind."""

    def get_queryset(self):
        queryset = selectors.with_live_attempt(super().get_queryset()).prefetch_related("attempts")
        wanted = self.request.query_params.get("status") if self.action == "list" else None
        return queryset.filter(status=wanted) if wanted else queryset

    def _act(self, request, act, refusal: str):
        run = self.get_object()
        try:
            done = act(run=run)
        except ValueError as exc:
            return Response({"detail": str(exc)}, status.HTTP_409_CONFLICT)
        if done is False:
            return Response({"detail": refusal.format(run=run)}, status.HTTP_409_CONFLICT)
        return Response(self.get_serializer(self.get_queryset().get(pk=run.pk)).data)

    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        """Cancel a created, queued or running run; a running job stops at its next progress report."""
        return self._act(
            request, services.cancel_run, "run {run.pk} is {run.status}, not created, queued or running"
        )

    @action(detail=True, methods=["post"])
    def launch(self, request, pk=None):
        """Queue a run that was created without being launched."""
        return self._act(request, services.launch_created_run, "")

    @action(detail=True, methods=["post"])
    def resume(self, request, pk=None):
        """Launch a finished run again; its job resumes from what is stored (cache, checkpoint, predictions)."""
        return self._act(request, services.relaunch_run, "")


def _with_own_responses(viewset_class, serializer_class):
    """The run actions answer with the viewset's own serializer in the schema."""
    return extend_schema_view(
        list=extend_schema(parameters=[STATUS_PARAMETER]),
        cancel=extend_schema(request=None, responses={200: serializer_class, 409: DetailSerializer}),
        launch=extend_schema(request=None, responses={200: serializer_class, 409: DetailSerializer}),
        resume=extend_schema(request=None, responses={200: serializer_class, 409: DetailSerializer}),
    )(viewset_class)


class RunViewSet(RunActionsMixin, viewsets.ReadOnlyModelViewSet):
    """Runs of every kind, as the shared record."""

    queryset = Run.objects.all()
    serializer_class = RunSerializer


class GenerationRunViewSet(RunActionsMixin, mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    """Teacher generation runs. POST creates one and queues it."""

    queryset = GenerationRun.objects.select_related("teacher", "dataset")
    serializer_class = GenerationRunSerializer


class TrainingRunViewSet(RunActionsMixin, mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    """Student training runs. POST creates one and queues it; POST grid/ creates a whole grid."""

    queryset = TrainingRun.objects.prefetch_related("generation_runs", "checkpoints")
    serializer_class = TrainingRunSerializer

    @extend_schema(request=TrainingGridSerializer, responses={201: GridLaunchSerializer})
    @action(detail=False, methods=["post"], serializer_class=TrainingGridSerializer)
    def grid(self, request):
        """One training run per student × method × data variant × seed (cells already run are not repeated)."""
        form = TrainingGridSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        result = services.launch_training_grid(**form.validated_data, created_by=request.user)
        context = self.get_serializer_context()
        return Response(
            {
                "created": TrainingRunSerializer(result.created, many=True, context=context).data,
                "existing": TrainingRunSerializer(result.existing, many=True, context=context).data,
            },
            status=status.HTTP_201_CREATED,
        )


class InferenceRunViewSet(RunActionsMixin, mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    """Inference runs of trained students. POST creates one and queues it."""

    queryset = InferenceRun.objects.select_related("training_run").annotate(
        n_predictions=Count("predictions"),
        n_correct=Count("predictions", filter=Q(predictions__correct=True)),
    )
    serializer_class = InferenceRunSerializer

    @extend_schema(responses=PredictionSerializer(many=True))
    @action(detail=True, methods=["get"], serializer_class=PredictionSerializer)
    def predictions(self, request, pk=None):
        """The run's predictions, by question id, a page at a time."""
        run = self.get_object()
        queryset = (
            Prediction.objects.filter(inference_run=run)
            .select_related("question")
            .order_by("question__external_id")
        )
        page = self.paginate_queryset(queryset)
        return self.get_paginated_response(PredictionSerializer(page, many=True).data)


RunViewSet = _with_own_responses(RunViewSet, RunSerializer)
GenerationRunViewSet = _with_own_responses(GenerationRunViewSet, GenerationRunSerializer)
TrainingRunViewSet = _with_own_responses(TrainingRunViewSet, TrainingRunSerializer)
InferenceRunViewSet = _with_own_responses(InferenceRunViewSet, InferenceRunSerializer)


class DatasetViewSet(viewsets.ReadOnlyModelViewSet):
    queryset = Dataset.objects.order_by("name")
    serializer_class = DatasetSerializer


class TeacherViewSet(viewsets.ReadOnlyModelViewSet):
    """Teachers; an API key is only ever named by its environment variable, never stored or shown."""

    queryset = Teacher.objects.order_by("name")
    serializer_class = TeacherSerializer
