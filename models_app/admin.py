import json
import tempfile
from pathlib import Path

from django import forms
from django.contrib import admin, messages
from django.db import models
from django.db.models import Count, Q
from django.http import HttpResponseRedirect
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from training.cqa import DataError
from training.intervals import share_interval

from . import data_import, selectors, services
from .forms import (
    GenerationRunForm,
    ImportQuestionsForm,
    ImportTeacherOutputsForm,
    InferenceRunForm,
    TrainingGridForm,
    TrainingRunForm,
)
from .models import (
    Checkpoint,
    Dataset,
    GenerationRun,
    InferenceRun,
    Prediction,
    Question,
    Run,
    RunAttempt,
    Teacher,
    TeacherOutput,
    TrainingRun,
)
from .templatetags.results import percent_interval


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    seconds = int(seconds)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}h {minutes:02d}m" if hours else f"{minutes}m {secs:02d}s"


def _first_line(text: str, limit: int = 90) -> str:
    line = next((line.strip() for line in text.splitlines() if line.strip()), "")
    return line if len(line) <= limit else line[: limit - 1] + "…"


def _changelist_link(model: str, label: str, **filters) -> str:
    query = "&".join(f"{key}={value}" for key, value in filters.items())
    return format_html(
        '<a href="{}?{}">{}</a>', reverse(f"admin:models_app_{model}_changelist"), query, label
    )


ATTEMPT_LOG_LINES = 30  # of each attempt's log tail, shown on the run's page


class RunAttemptInline(admin.TabularInline):
    """Every execution of the run: who ran it, when, how far, how it ended, its error and the tail of its log."""

    model = RunAttempt
    fields = (
        "number",
        "outcome",
        "worker",
        "started_at",
        "finished_at",
        "duration",
        "steps",
        "error_and_log",
    )
    readonly_fields = fields
    extra = 0
    can_delete = False
    verbose_name_plural = "attempts (each execution of the run)"

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description="worker")
    def worker(self, attempt: RunAttempt) -> str:
        return f"{attempt.host} pid {attempt.pid}" if attempt.host else "—"

    @admin.display(description="duration")
    def duration(self, attempt: RunAttempt) -> str:
        return _duration(attempt.wall_seconds)

    @admin.display(description="progress")
    def steps(self, attempt: RunAttempt) -> str:
        return f"{attempt.progress_from} → {attempt.progress_to}"

    @admin.display(description="error and log tail")
    def error_and_log(self, attempt: RunAttempt) -> str:
        log = "\n".join(attempt.log_tail.splitlines()[-ATTEMPT_LOG_LINES:])
        return format_html(
            '{}<details><summary>log (last {} lines)</summary><pre class="run-attempt-log">{}</pre></details>',
            format_html('<pre class="errornote">{}</pre>', attempt.error) if attempt.error else "",
            ATTEMPT_LOG_LINES,
            log or "—",
        )


class RunAdminMixin:
    """List columns, read-only job fields and actions shared by every kind of run."""

    run_list_display = (
        "__str__",
        "state",
        "progress_bar",
        "eta",
        "log_line",
        "error_line",
        "created_at",
        "finished_at",
    )
    run_readonly_fields = (
        "kind",
        "state",
        "attempt_totals",
        "progress_bar",
        "eta",
        "task_id",
        "created_by",
        "created_at",
        "started_at",
        "finished_at",
        "heartbeat_at",
        "error",
        "log_tail",
    )
    actions = ["launch_selected", "cancel_selected", "relaunch_selected"]
    inlines = [RunAttemptInline]

    def get_queryset(self, request):
        return selectors.with_live_attempt(super().get_queryset(request))

    def get_inlines(self, request, obj):
        return self.inlines if obj is not None else []  # a new run has no attempts or checkpoints yet

    @admin.display(description="status", ordering="status")
    def state(self, run: Run) -> str:
        """The status, or "stopping" while an attempt still runs on a cancelled or relaunched run."""
        state = selectors.run_state(run=run)
        if state == selectors.STOPPING:
            return format_html(
                '<span class="run-stopping" title="{}">stopping</span>',
                f"{run.status}: waiting for attempt {run.attempt} to stop",
            )
        return Run.Status(state).label

    @admin.display(description="all attempts")
    def attempt_totals(self, run: Run) -> str:
        totals = selectors.attempt_totals(run=run)
        if not totals.attempts:
            return "—"
        return (
            f"{len(totals.attempts)} attempt(s), {_duration(totals.wall_seconds)} in all, "
            f"progress made {totals.steps:,} (work redone after a crash counts again)"
        )

    @admin.display(description="progress")
    def progress_bar(self, run: Run) -> str:
        if not run.progress_total:
            return format_html('<span class="run-progress-empty">{}</span>', "—")
        pct = 100 * run.progress_done / run.progress_total
        return format_html(
            '<progress value="{}" max="{}" title="{} / {}"></progress> {}%',
            run.progress_done,
            run.progress_total,
            run.progress_done,
            run.progress_total,
            f"{pct:.0f}",
        )

    @admin.display(description="ETA")
    def eta(self, run: Run) -> str:
        return _duration(run.eta_seconds)

    @admin.display(description="last log line")
    def log_line(self, run: Run) -> str:
        lines = run.log_tail.strip().splitlines()
        return _first_line(lines[-1]) if lines else "—"

    @admin.display(description="error")
    def error_line(self, run: Run) -> str:
        if not run.error:
            return ""
        return format_html(
            '<span class="errornote" title="{}">{}</span>', run.error[:2000], _first_line(run.error)
        )

    @admin.action(description="Launch selected runs (created, not launched yet)")
    def launch_selected(self, request, queryset):
        launched = 0
        for run in queryset:
            try:
                services.launch_created_run(run=run)
                launched += 1
            except ValueError as exc:
                self.message_user(request, str(exc), messages.WARNING)
        if launched:
            self.message_user(request, f"Launched {launched} run(s).", messages.SUCCESS)

    @admin.action(description="Cancel selected runs")
    def cancel_selected(self, request, queryset):
        cancelled = sum(services.cancel_run(run=run) for run in queryset)
        self.message_user(request, f"Cancelled {cancelled} run(s).", messages.SUCCESS)

    @admin.action(description="Resume selected finished runs (launch again; stored work is kept)")
    def relaunch_selected(self, request, queryset):
        launched = 0
        for run in queryset:
            try:
                services.relaunch_run(run=run)
                launched += 1
            except ValueError as exc:
                self.message_user(request, str(exc), messages.WARNING)
        if launched:
            self.message_user(request, f"Launched {launched} run(s) again.", messages.SUCCESS)


class RunFormAdminMixin(RunAdminMixin):
    """Create-and-launch form for a new run; a saved run's settings are shown read-only (results depend on them)."""

    settings_fields: tuple[str, ...] = ()
    result_fields: tuple[str, ...] = ()

    def get_fields(self, request, obj=None):
        if obj is None:
            return (*self.form._meta.fields, "launch")
        return ("name", *self.get_readonly_fields(request, obj))

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return ()
        return (*self.settings_fields, *self.result_fields, *self.run_readonly_fields, "config")

    def get_form(self, request, obj=None, **kwargs):
        if obj is not None:
            kwargs["form"] = forms.ModelForm
        return super().get_form(request, obj, **kwargs)

    def save_model(self, request, obj, form, change):
        if change:
            return super().save_model(request, obj, form, change)
        services.create_run(
            validated=form.validated, created_by=request.user, launch=form.cleaned_data["launch"]
        )

    def save_related(self, request, form, formsets, change):
        if change:  # a new run's relations were set by services.create_run
            super().save_related(request, form, formsets, change)


@admin.register(Run)
class RunAdmin(RunAdminMixin, admin.ModelAdmin):
    list_display = ("__str__", "kind", *RunAdminMixin.run_list_display[1:])
    list_filter = ("kind", "status")
    search_fields = ("name", "task_id")
    readonly_fields = RunAdminMixin.run_readonly_fields + ("config",)
    fields = ("name",) + readonly_fields

    def has_add_permission(self, request) -> bool:
        return False  # runs are created as a generation, training or inference run


class ImportViewMixin:
    """An admin page that imports an uploaded file with a service and lists the file's problems by line."""

    def _import_page(self, request, form_class, title: str, run_import):
        form = form_class(request.POST or None, request.FILES or None)
        problems = []
        if request.method == "POST" and form.is_valid():
            upload = form.cleaned_data["file"]
            with tempfile.NamedTemporaryFile(suffix=Path(upload.name).suffix) as handle:
                for chunk in upload.chunks():
                    handle.write(chunk)
                handle.flush()
                try:
                    summary = run_import(form.cleaned_data, Path(handle.name), upload.name)
                except DataError as exc:
                    problems = exc.problems
                else:
                    self.message_user(request, f"Imported {upload.name}: {summary}.", messages.SUCCESS)
                    return HttpResponseRedirect(
                        reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_changelist")
                    )
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": title,
            "form": form,
            "problems": problems,
            "shown_problems": problems[: DataError.MAX_SHOWN],
        }
        return TemplateResponse(request, "admin/models_app/import_form.html", context)


@admin.register(Dataset)
class DatasetAdmin(ImportViewMixin, admin.ModelAdmin):
    list_display = ("name", "kind", "source", "train_questions", "test_questions", "created_at")
    list_filter = ("kind",)
    search_fields = ("name",)
    change_list_template = "admin/models_app/dataset/change_list.html"

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(
                n_train=Count("questions", filter=Q(questions__split=Question.Split.TRAIN)),
                n_test=Count(
                    "questions", filter=selectors.in_test_split(kind="kind", split="questions__split")
                ),
            )
        )

    @admin.display(description="train questions", ordering="n_train")
    def train_questions(self, dataset: Dataset) -> str:
        return _changelist_link("question", f"{dataset.n_train:,}", dataset=dataset.pk, split="train")

    @admin.display(description="test set questions", ordering="n_test")
    def test_questions(self, dataset: Dataset) -> str:
        return _changelist_link(
            "question", f"{dataset.n_test:,}", dataset=dataset.pk, split=dataset.test_split
        )

    def get_urls(self):
        return [
            path(
                "import/",
                self.admin_site.admin_view(self.import_questions_view),
                name="models_app_dataset_import",
            ),
            *super().get_urls(),
        ]

    def import_questions_view(self, request):
        return self._import_page(
            request,
            ImportQuestionsForm,
            "Import questions",
            lambda data, file_path, name: data_import.import_questions(
                path=file_path, dataset_name=data["dataset"], split=data["split"] or None, source_name=name
            ),
        )


@admin.register(Question)
class QuestionAdmin(admin.ModelAdmin):
    list_display = ("external_id", "dataset", "split", "text", "answer_key")
    list_filter = ("dataset", "split")
    search_fields = ("external_id", "text")
    show_full_result_count = False


@admin.register(Teacher)
class TeacherAdmin(admin.ModelAdmin):
    list_display = ("name", "backend", "model", "base_url", "endpoint", "api_key_env")
    formfield_overrides = {
        models.URLField: {"assume_scheme": "http"}
    }  # teacher servers mostly answer plain HTTP
    list_filter = ("backend",)
    search_fields = ("name", "model")


@admin.register(GenerationRun)
class GenerationRunAdmin(ImportViewMixin, RunFormAdminMixin, admin.ModelAdmin):
    form = GenerationRunForm
    settings_fields = GenerationRun.SETTINGS_FIELDS
    result_fields = ("outputs_link",)
    list_display = (
        "__str__",
        "teacher",
        "dataset",
        "split",
        "method",
        *RunAdminMixin.run_list_display[1:-2],
        "outputs_link",
        "created_at",
    )
    list_filter = ("status", "method", "split", "teacher", "dataset")
    search_fields = ("name", "teacher__name")
    list_select_related = ("teacher", "dataset")
    actions = [*RunAdminMixin.actions, "launch_training_grid"]
    change_list_template = "admin/models_app/generationrun/change_list.html"

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(n_outputs=Count("outputs"))

    @admin.display(description="teacher outputs", ordering="n_outputs")
    def outputs_link(self, run: GenerationRun) -> str:
        return _changelist_link("teacheroutput", f"{run.n_outputs:,}", generation_run=run.pk)

    def get_urls(self):
        return [
            path(
                "import/",
                self.admin_site.admin_view(self.import_outputs_view),
                name="models_app_generationrun_import",
            ),
            *super().get_urls(),
        ]

    def import_outputs_view(self, request):
        return self._import_page(
            request,
            ImportTeacherOutputsForm,
            "Import recorded teacher outputs",
            lambda data, file_path, name: data_import.import_teacher_outputs(
                path=file_path,
                dataset=data["dataset"],
                teacher_name=data["teacher"],
                source_name=name,
                created_by=request.user,
            ),
        )

    @admin.action(description="Launch a training grid on the selected generation runs…")
    def launch_training_grid(self, request, queryset):
        runs = list(queryset.select_related("dataset"))
        datasets = {run.dataset for run in runs}
        if len(datasets) != 1:
            self.message_user(request, "Select generation runs of one dataset to train on.", messages.ERROR)
            return None
        dataset = datasets.pop()
        form = TrainingGridForm(
            request.POST if "apply" in request.POST else None, dataset=dataset, generation_runs=runs
        )
        if form.is_valid():
            grid = services.launch_training_grid(
                grid=form.validated, created_by=request.user, launch=form.cleaned_data["launch"]
            )
            verb = "Launched" if form.cleaned_data["launch"] else "Created"
            text = f"{verb} {len(grid.created)} training run(s)."
            if grid.existing:
                text += (
                    f" {len(grid.existing)} with the same settings existed already and were left as they are."
                )
            self.message_user(request, text, messages.SUCCESS)
            return HttpResponseRedirect(reverse("admin:models_app_trainingrun_changelist"))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": "Launch a training grid",
            "form": form,
            "dataset": dataset,
            "generation_runs": runs,
            "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/models_app/training_grid.html", context)


@admin.register(TeacherOutput)
class TeacherOutputAdmin(admin.ModelAdmin):
    list_display = ("question", "kind", "option_label", "short_text", "generation_run", "flags")
    list_filter = ("kind", "generation_run")
    search_fields = ("question__external_id", "text")
    list_select_related = ("question", "generation_run")
    raw_id_fields = ("question", "generation_run")
    show_full_result_count = False

    @admin.display(description="text")
    def short_text(self, output: TeacherOutput) -> str:
        return _first_line(output.text, 120)

    def has_add_permission(self, request) -> bool:
        return False  # stored by generation runs and imports

    def has_change_permission(self, request, obj=None) -> bool:
        return False


class CheckpointInline(admin.TabularInline):
    model = Checkpoint
    fields = ("role", "step", "path", "eval_accuracy")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(TrainingRun)
class TrainingRunAdmin(RunFormAdminMixin, admin.ModelAdmin):
    form = TrainingRunForm
    settings_fields = TrainingRun.SETTINGS_FIELDS
    result_fields = (*TrainingRun.RESULT_FIELDS, "inference_links", "student_inputs")
    inlines = [*RunAdminMixin.inlines, CheckpointInline]

    @admin.display(description="what the student is fed (one example question)")
    def student_inputs(self, run: TrainingRun) -> str:
        rows, problem = selectors.fed_example(training_run=run)
        shown = [
            row | {"input_json": json.dumps(row["input"]), "target_json": json.dumps(row["target"])}
            for row in rows
        ]
        return render_to_string(
            "admin/models_app/trainingrun/student_inputs.html", {"rows": shown, "problem": problem}
        )

    list_display = (
        "__str__",
        "student",
        "method",
        "data_variant",
        "seed",
        *RunAdminMixin.run_list_display[1:-2],
        "eval_accuracy",
        "inference_links",
        "created_at",
    )
    list_filter = ("status", "method", "data_variant", "student", "seed", "dataset")
    search_fields = ("name", "student")
    change_list_template = "admin/models_app/trainingrun/change_list.html"

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(n_inference=Count("inference_runs"))

    @admin.display(description="inference runs", ordering="n_inference")
    def inference_links(self, run: TrainingRun) -> str:
        return _changelist_link("inferencerun", f"{run.n_inference}", training_run=run.pk)


@admin.register(InferenceRun)
class InferenceRunAdmin(RunFormAdminMixin, admin.ModelAdmin):
    form = InferenceRunForm
    settings_fields = InferenceRun.SETTINGS_FIELDS
    result_fields = ("metrics", "predictions_links")
    list_display = (
        "__str__",
        "training_run",
        "split",
        "checkpoint_role",
        *RunAdminMixin.run_list_display[1:-2],
        "accuracy",
        "predictions_links",
        "created_at",
    )
    list_filter = ("status", "split", "checkpoint_role", "training_run__method", "training_run__data_variant")
    search_fields = ("name",)
    list_select_related = ("training_run",)

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(
                n_predictions=Count("predictions"),
                n_correct=Count("predictions", filter=Q(predictions__correct=True)),
            )
        )

    @admin.display(description="accuracy [95% CI]")
    def accuracy(self, run: InferenceRun) -> str:
        if not run.n_predictions:
            return "—"
        return percent_interval(
            run.n_correct / run.n_predictions, share_interval(run.n_correct, run.n_predictions)
        )

    @admin.display(description="predictions", ordering="n_predictions")
    def predictions_links(self, run: InferenceRun) -> str:
        return format_html(
            '{} · <a href="{}">CSV</a>',
            _changelist_link("prediction", f"{run.n_predictions:,}", inference_run=run.pk),
            reverse("runs:predictions-csv", args=[run.pk]),
        )


@admin.register(Prediction)
class PredictionAdmin(admin.ModelAdmin):
    list_display = (
        "question",
        "predicted_label",
        "correct",
        "parse_rule",
        "short_explanation",
        "inference_run",
    )
    list_filter = ("correct", "parse_rule", "inference_run")
    search_fields = ("question__external_id", "explanation")
    list_select_related = ("question", "inference_run")
    raw_id_fields = ("question", "inference_run")
    show_full_result_count = False

    @admin.display(description="explanation")
    def short_explanation(self, prediction: Prediction) -> str:
        return _first_line(prediction.explanation, 120)

    def has_add_permission(self, request) -> bool:
        return False  # stored by inference runs

    def has_change_permission(self, request, obj=None) -> bool:
        return False
