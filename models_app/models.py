"""Registry of data, teachers, runs and their outputs.

Every job (generation, training, inference) is a `Run` row, a `Job` (`job_models`): the record of status,
progress, heartbeat, log tail and error that every background job shares. `GenerationRun`, `TrainingRun` and `InferenceRun` extend it with what
that kind of job needs, so that any reported number traces back to its teacher, data variant, run and seed.
Each execution of a run is a `RunAttempt` (a `JobAttempt`): who ran it, when, how it ended, its error and log.
Only the run's current attempt may write to it (`models_app.jobs`).
"""

import uuid

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone

from training.cqa import LABELS
from training.cqa import Question as LibraryQuestion
from training.datasets import DATASETS, DEFAULT_DATASET, DatasetSpec, dataset_spec

from .job_models import Job, JobAttempt, JobStatus, attempt_constraints

OPTION_LABELS = LABELS  # the library's option letters (a dataset of k options uses the first k)
DATASET_KINDS = [(spec.name, spec.title) for spec in DATASETS.values()]  # the library's dataset registry
ENV_VAR_NAME = r"^[A-Za-z_][A-Za-z0-9_]*$"


class Dataset(models.Model):
    name = models.CharField(max_length=200, unique=True)
    kind = models.CharField(
        max_length=40,
        choices=DATASET_KINDS,
        default=DEFAULT_DATASET,
        help_text="Which dataset of the library's registry its questions are (options, fields, test split).",
    )
    source = models.CharField(
        max_length=500, blank=True, help_text="File, folder or hub id it was imported from."
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(kind__in=list(DATASETS)), name="dataset_kind_in_registry")
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def spec(self) -> DatasetSpec:
        return dataset_spec(self.kind)

    @property
    def test_split(self) -> str:
        """The split that serves as its test set (CQA: validation; StrategyQA, e-SNLI: test)."""
        return self.spec.test_split


# Choices live at module level so that the models' Meta constraints can name them.
class Split(models.TextChoices):
    TRAIN = "train", "train"
    VALIDATION = "validation", "validation (CQA's test set)"
    TEST = "test", "test"


class Question(models.Model):
    Split = Split

    dataset = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name="questions")
    external_id = models.CharField(max_length=100, help_text="The question's id in its source (CQA id).")
    split = models.CharField(max_length=20, choices=Split.choices)
    text = models.TextField()
    choices = models.JSONField(help_text="The answer options, in order A, B, ... (five for CQA).")
    answer_key = models.CharField(max_length=1)
    fields = models.JSONField(
        default=dict,
        blank=True,
        help_text="The dataset's own fields: StrategyQA's facts, e-SNLI's premise, ...",
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["dataset", "external_id"], name="question_unique_per_dataset"),
            models.CheckConstraint(
                condition=Q(answer_key__in=OPTION_LABELS), name="question_answer_key_a_to_e"
            ),
            models.CheckConstraint(condition=Q(split__in=Split.values), name="question_split_valid"),
        ]
        indexes = [models.Index(fields=["dataset", "split"])]

    def __str__(self) -> str:
        return f"{self.external_id}: {self.text[:60]}"

    @property
    def answer_text(self) -> str:
        return self.choices[OPTION_LABELS.index(self.answer_key)]

    def as_library(self, kind: str) -> LibraryQuestion:
        """The library's record of this question, of the dataset `kind` (its dataset's)."""
        return library_question(self.external_id, self.text, self.choices, self.answer_key, self.fields, kind)


def library_question(
    external_id: str, text: str, choices: list, answer_key: str, fields: dict, kind: str
) -> LibraryQuestion:
    """A stored question's columns as the library's record (training.cqa.Question)."""
    extra = tuple((name, fields[name]) for name in dataset_spec(kind).fields if name in fields)
    return LibraryQuestion(
        id=external_id,
        question=text,
        choices=tuple(choices),
        answer_key=answer_key,
        dataset=kind,
        extra=extra,
    )


class TeacherBackend(models.TextChoices):
    OPENAI = "openai", "OpenAI-compatible HTTP server"
    TRANSFORMERS = "transformers", "Local transformers model"
    RECORDED = "recorded", "Recorded outputs (JSONL)"


class TeacherEndpoint(models.TextChoices):
    CHAT = "chat", "chat/completions"
    COMPLETIONS = "completions", "completions"


class Teacher(models.Model):
    Backend = TeacherBackend
    Endpoint = TeacherEndpoint
    # The fields that are the library's TeacherSpec of the same name (what determines the outputs).
    SPEC_FIELDS = ("backend", "model", "base_url", "endpoint", "api_key_env", "decoding")

    name = models.CharField(max_length=200, unique=True)
    backend = models.CharField(max_length=20, choices=Backend.choices)
    model = models.CharField(
        max_length=500, help_text="Model id or path; for recorded outputs, the JSONL file."
    )
    base_url = models.URLField(blank=True, help_text="For HTTP servers, e.g. http://gpu-host:8000/v1")
    endpoint = models.CharField(max_length=20, choices=Endpoint.choices, default=Endpoint.CHAT)
    api_key_env = models.CharField(
        max_length=100,
        blank=True,
        validators=[
            RegexValidator(
                ENV_VAR_NAME,
                "Give the name of an environment variable (letters, digits, underscores), never the key itself.",
            )
        ],
        help_text="Name of the environment variable holding the API key (never the key).",
    )
    decoding = models.JSONField(
        default=dict, blank=True, help_text="Decoding parameters, e.g. max_new_tokens."
    )

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=~Q(backend="openai") | ~Q(base_url=""), name="teacher_http_backend_has_base_url"
            ),
            models.CheckConstraint(
                condition=Q(backend__in=TeacherBackend.values), name="teacher_backend_valid"
            ),
            models.CheckConstraint(
                condition=Q(endpoint__in=TeacherEndpoint.values), name="teacher_endpoint_valid"
            ),
            models.CheckConstraint(
                condition=Q(api_key_env="") | Q(api_key_env__regex=ENV_VAR_NAME),
                name="teacher_api_key_env_is_a_variable_name",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class RunKind(models.TextChoices):
    GENERATION = "generation", "generation"
    TRAINING = "training", "training"
    INFERENCE = "inference", "inference"


RunStatus = JobStatus  # a run's statuses are every job's (the API names them RunStatus)


class Run(Job):
    """A generation, training or inference job (`Job`'s record): what it is and what it was given."""

    Kind = RunKind

    NOUN = "run"
    AGAIN = "Launch the run again to resume it."

    kind = models.CharField(max_length=20, choices=Kind.choices, editable=False)
    # Names the run's folder under ARTIFACTS_DIR: ids repeat across databases (the SQLite demo, a reset one).
    uid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(max_length=200, blank=True)
    config = models.JSONField(default=dict, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(progress_total=0) | Q(progress_done__lte=models.F("progress_total")),
                name="run_progress_within_total",
            ),
            models.CheckConstraint(condition=Q(kind__in=RunKind.values), name="run_kind_valid"),
            models.CheckConstraint(condition=Q(status__in=RunStatus.values), name="run_status_valid"),
        ]

    KIND = ""  # set by each kind of run
    SETTINGS_FIELDS: tuple[str, ...] = ()  # what a researcher sets (admin form, API), in the order shown

    def __str__(self) -> str:
        return f"{self.kind} #{self.pk} {self.name}".strip()

    def save(self, *args, **kwargs):
        self.kind = self.kind or self.KIND
        super().save(*args, **kwargs)

    @property
    def queue(self) -> str:
        return "gpu" if self.kind in (self.Kind.TRAINING, self.Kind.INFERENCE) else "default"

    @property
    def fraction_done(self) -> float | None:
        return self.progress_done / self.progress_total if self.progress_total else None

    @property
    def eta_seconds(self) -> float | None:
        """Remaining seconds, extrapolated from the rate so far."""
        frac = self.fraction_done
        if self.status != self.Status.RUNNING or not self.started_at or not frac:
            return None
        elapsed = (timezone.now() - self.started_at).total_seconds()
        return elapsed * (1 - frac) / frac


class RunAttempt(JobAttempt):
    JOB_FIELD = "run"

    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="attempts")

    class Meta(JobAttempt.Meta):
        constraints = attempt_constraints("run", "run_attempt")


class GenerationMethod(models.TextChoices):
    EXPLAIN = "explain", "few-shot explanation"
    CRITIQUE_REVISE = "critique_revise", "critique and revision"
    OPTION_EXPLANATIONS = "option_explanations", "one explanation per option"
    RECORDED = "recorded", "recorded outputs (imported file)"


class GenerationRun(Run):
    KIND = Run.Kind.GENERATION
    Method = GenerationMethod
    # A recorded run is made by importing a file, never launched.
    LAUNCHABLE_METHODS = (Method.EXPLAIN, Method.CRITIQUE_REVISE, Method.OPTION_EXPLANATIONS)
    SETTINGS_FIELDS = ("teacher", "dataset", "split", "method", "seed")

    teacher = models.ForeignKey(Teacher, on_delete=models.PROTECT, related_name="generation_runs")
    dataset = models.ForeignKey(Dataset, on_delete=models.PROTECT, related_name="generation_runs")
    split = models.CharField(max_length=20, choices=Question.Split.choices)
    method = models.CharField(max_length=30, choices=Method.choices)
    seed = models.IntegerField(default=0)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(method__in=GenerationMethod.values), name="generation_run_method_valid"
            ),
            models.CheckConstraint(condition=Q(split__in=Split.values), name="generation_run_split_valid"),
            models.CheckConstraint(condition=Q(seed__gte=0), name="generation_run_seed_not_negative"),
        ]


class OutputKind(models.TextChoices):
    EXPLANATION = "explanation", "explanation"
    CRITIQUE = "critique", "critique"
    REVISED_EXPLANATION = "revised_explanation", "revised explanation"
    OPTION_EXPLANATION = "option_explanation", "option explanation"


class TeacherOutput(models.Model):
    Kind = OutputKind

    generation_run = models.ForeignKey(GenerationRun, on_delete=models.CASCADE, related_name="outputs")
    question = models.ForeignKey(Question, on_delete=models.CASCADE, related_name="teacher_outputs")
    kind = models.CharField(max_length=30, choices=Kind.choices)
    option_label = models.CharField(
        max_length=1, blank=True, help_text="A–E for option explanations, else empty."
    )
    text = models.TextField(blank=True)
    prompt = models.TextField(blank=True)
    flags = models.JSONField(default=list, blank=True)
    params = models.JSONField(
        default=dict, blank=True, help_text="Backend, model, decoding parameters, seed, draws."
    )
    prompt_tokens = models.PositiveIntegerField(default=0)
    completion_tokens = models.PositiveIntegerField(default=0)
    cache_key = models.CharField(max_length=64, blank=True, db_index=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["generation_run", "question", "kind", "option_label"], name="teacher_output_unique"
            ),
            models.CheckConstraint(
                condition=(Q(kind="option_explanation") & Q(option_label__in=OPTION_LABELS))
                | (~Q(kind="option_explanation") & Q(option_label="")),
                name="teacher_output_option_label_matches_kind",
            ),
            models.CheckConstraint(condition=Q(kind__in=OutputKind.values), name="teacher_output_kind_valid"),
        ]

    def __str__(self) -> str:
        suffix = f" {self.option_label}" if self.option_label else ""
        return f"{self.kind}{suffix} for {self.question_id}"


class TrainingMethod(models.TextChoices):
    STANDARD = "standard", "standard (answer only)"
    MULTITASK = "multitask", "multitask"
    COUNTERFACTUAL = "counterfactual", "counterfactual"
    MULTITASK_COUNTERFACTUAL = "multitask_counterfactual", "multitask + counterfactual"


class DataVariant(models.TextChoices):
    UNREVISED = "unrevised", "unrevised (few-shot)"
    REVISED = "revised", "revised (critique-revision)"


class TrainingRun(Run):
    KIND = Run.Kind.TRAINING
    Method = TrainingMethod
    DataVariant = DataVariant
    SETTINGS_FIELDS = (
        "dataset",
        "student",
        "method",
        "data_variant",
        "seed",
        "generation_runs",
        "hyperparameters",
    )
    RESULT_FIELDS = (  # what training wrote, shown read-only in the admin and the API
        "eval_accuracy",
        "best_checkpoint",
        "last_checkpoint",
        "steps_per_second",
        "wall_seconds",
        "peak_memory_bytes",
        "divergence_reason",
        "history",
    )

    student = models.CharField(max_length=300, help_text="Hub id, local path, or named tiny config.")
    method = models.CharField(max_length=30, choices=Method.choices)
    data_variant = models.CharField(max_length=20, choices=DataVariant.choices)
    seed = models.IntegerField(default=0)
    dataset = models.ForeignKey(Dataset, on_delete=models.PROTECT, related_name="training_runs")
    generation_runs = models.ManyToManyField(GenerationRun, related_name="training_runs", blank=True)
    hyperparameters = models.JSONField(default=dict, blank=True)
    history = models.JSONField(default=list, blank=True, help_text="Loss and evaluation history.")
    eval_accuracy = models.FloatField(null=True, blank=True)
    last_checkpoint = models.CharField(max_length=500, blank=True)
    best_checkpoint = models.CharField(max_length=500, blank=True)
    steps_per_second = models.FloatField(null=True, blank=True)
    wall_seconds = models.FloatField(null=True, blank=True)
    peak_memory_bytes = models.BigIntegerField(null=True, blank=True)
    divergence_reason = models.TextField(blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(method__in=TrainingMethod.values), name="training_run_method_valid"
            ),
            models.CheckConstraint(
                condition=Q(data_variant__in=DataVariant.values), name="training_run_data_variant_valid"
            ),
            models.CheckConstraint(condition=Q(seed__gte=0), name="training_run_seed_not_negative"),
            models.CheckConstraint(condition=~Q(student=""), name="training_run_has_student"),
        ]

    @property
    def condition_name(self) -> str:
        return f"{self.method}/{self.data_variant}"


class CheckpointRole(models.TextChoices):
    BEST = "best", "best"
    LAST = "last", "last"


class Checkpoint(models.Model):
    Role = CheckpointRole

    training_run = models.ForeignKey(TrainingRun, on_delete=models.CASCADE, related_name="checkpoints")
    role = models.CharField(max_length=10, choices=Role.choices)
    step = models.PositiveIntegerField()
    path = models.CharField(max_length=500)
    eval_accuracy = models.FloatField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["training_run", "role"], name="checkpoint_role_unique"),
            models.CheckConstraint(condition=Q(role__in=CheckpointRole.values), name="checkpoint_role_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.role} checkpoint of run {self.training_run_id} (step {self.step})"


class InferenceRun(Run):
    KIND = Run.Kind.INFERENCE
    SETTINGS_FIELDS = ("training_run", "checkpoint_role", "dataset", "split")

    training_run = models.ForeignKey(TrainingRun, on_delete=models.PROTECT, related_name="inference_runs")
    checkpoint_role = models.CharField(
        max_length=10, choices=Checkpoint.Role.choices, default=Checkpoint.Role.BEST
    )
    dataset = models.ForeignKey(Dataset, on_delete=models.PROTECT, related_name="inference_runs")
    split = models.CharField(max_length=20, choices=Question.Split.choices, default=Question.Split.VALIDATION)
    metrics = models.JSONField(
        default=dict, blank=True, help_text="accuracy, consistency, flip rate, length, ROUGE-L"
    )

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(split__in=Split.values), name="inference_run_split_valid"),
            models.CheckConstraint(
                condition=Q(checkpoint_role__in=CheckpointRole.values),
                name="inference_run_checkpoint_role_valid",
            ),
        ]


class Prediction(models.Model):
    inference_run = models.ForeignKey(InferenceRun, on_delete=models.CASCADE, related_name="predictions")
    question = models.ForeignKey(Question, on_delete=models.CASCADE, related_name="predictions")
    predicted_label = models.CharField(
        max_length=1, blank=True, help_text="A–E, empty when no option matched."
    )
    correct = models.BooleanField()
    explanation = models.TextField(blank=True)
    raw_output = models.TextField(blank=True)
    parse_rule = models.CharField(max_length=30, blank=True, help_text="Which answer-parsing rule matched.")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["inference_run", "question"], name="prediction_unique_per_question"
            ),
            models.CheckConstraint(
                condition=Q(predicted_label__in=OPTION_LABELS) | Q(predicted_label=""),
                name="prediction_label_a_to_e_or_empty",
            ),
        ]

    def __str__(self) -> str:
        return f"prediction {self.predicted_label or '?'} for {self.question_id}"

    @property
    def predicted_text(self) -> str:
        if not self.predicted_label:
            return ""
        return self.question.choices[OPTION_LABELS.index(self.predicted_label)]
