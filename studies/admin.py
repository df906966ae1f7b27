"""Study design in the admin: the study with its scales, demographics, attention checks and items inline;
conditions on their own page (from an inference run or an uploaded JSONL file). Once a study has
participants, everything that shapes what annotators see turns read-only."""

from contextvars import ContextVar

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db import models
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from models_app.models import Dataset

from . import services
from .defaults import DEFAULT_SCALES
from .importing import ExplanationFileError
from .models import AttentionCheck, Condition, DemographicQuestion, Item, Participant, Scale, Study
from .prolific import study_entry_url
from .staff_forms import DecisionPowerForm, PowerForm

# The request the study admin is answering: the entry link is shown absolute, as Prolific needs it.
_admin_request: ContextVar = ContextVar("study_admin_request", default=None)

DESIGN_FIELDS = (
    "kind",
    "protocol",
    "ask_confidence",
    "reveal_answer",
    "wrong_advice_share",
    "consent_text",
    "instructions",
    "items_per_condition",
    "item_count",
    "reveal_correctness",
    "comment_enabled",
    "attention_max_failures",
)


class FrozenInlineMixin:
    """No adding, changing or deleting once the study has participants."""

    def has_add_permission(self, request, obj=None):
        return super().has_add_permission(request, obj) and not (obj and obj.is_frozen)

    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) and not (obj and obj.is_frozen)

    def has_delete_permission(self, request, obj=None):
        return super().has_delete_permission(request, obj) and not (obj and obj.is_frozen)


class ScaleInline(FrozenInlineMixin, admin.TabularInline):
    model = Scale
    extra = 0
    fields = ("position", "name", "label", "statement", "min_value", "max_value", "anchors")


class DemographicQuestionInline(FrozenInlineMixin, admin.TabularInline):
    model = DemographicQuestion
    extra = 0
    fields = ("position", "key", "label", "kind", "choices", "required")


class AttentionCheckInline(FrozenInlineMixin, admin.TabularInline):
    model = AttentionCheck
    extra = 0
    fields = ("position", "question", "instruction", "expected_value")
    raw_id_fields = ("question",)


class ConditionInline(admin.TabularInline):
    model = Condition
    extra = 0
    fields = ("position", "name", "advice", "inference_run", "source_file", "explanation_count")
    readonly_fields = ("name", "advice", "inference_run", "source_file", "explanation_count")
    show_change_link = True
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False  # a condition is added on its own page, which loads its explanations

    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) and not (obj and obj.is_frozen)

    @admin.display(description="explanations")
    def explanation_count(self, condition: Condition) -> int:
        return condition.explanations.count()


class ItemInline(FrozenInlineMixin, admin.TabularInline):
    model = Item
    extra = 0
    fields = ("sample_rank", "question_id_text", "question_text", "excluded", "exclusion_reason")
    readonly_fields = ("sample_rank", "question_id_text", "question_text")
    verbose_name_plural = "items (tick “excluded” to keep a question from annotators)"

    def has_add_permission(self, request, obj=None):
        return False  # items are sampled (action “Sample items”)

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("question")

    @admin.display(description="question id")
    def question_id_text(self, item: Item) -> str:
        return item.question.external_id

    @admin.display(description="question")
    def question_text(self, item: Item) -> str:
        return item.question.text


@admin.register(Study)
class StudyAdmin(admin.ModelAdmin):
    list_display = (
        "title",
        "status",
        "conditions_list",
        "participant_counts",
        "dashboard_link",
        "created_at",
    )
    list_filter = ("status",)
    search_fields = ("title",)
    inlines = [ConditionInline, ScaleInline, DemographicQuestionInline, AttentionCheckInline, ItemInline]
    readonly_fields = (
        "status",
        "entry_link",
        "dashboard_link",
        "item_seed",
        "items_sampled_at",
        "power_link",
        "created_at",
        "opened_at",
        "closed_at",
    )
    fieldsets = (
        (None, {"fields": ("title", "kind", "notes", "status", "entry_link", "dashboard_link")}),
        ("What participants read", {"fields": ("consent_text", "instructions")}),
        (
            "Design",
            {
                "fields": (
                    "items_per_condition",
                    "item_count",
                    "item_seed",
                    "items_sampled_at",
                    "target_ratings_per_item",
                    "power_link",
                    "reveal_correctness",
                    "comment_enabled",
                    "attention_max_failures",
                )
            },
        ),
        (
            "Decision study (kind “decision” only)",
            {
                "fields": ("protocol", "ask_confidence", "reveal_answer", "wrong_advice_share"),
                "description": "Each condition's advice (none, the answer, or the answer and explanation) is set "
                "on the condition's own page. Items per condition times the wrong-advice share must be a whole "
                "number: every participant then sees that many items with wrong advice in every condition.",
            },
        ),
        (
            "Prolific and sessions",
            {
                "fields": (
                    "completion_code",
                    "screen_out_code",
                    "completion_url",
                    "allow_anonymous",
                    "abandon_after_minutes",
                )
            },
        ),
        ("History", {"fields": ("created_at", "opened_at", "closed_at")}),
    )
    actions = [
        "sample_items",
        "open_selected",
        "close_selected",
        "fill_test_responses",
        "delete_test_responses",
    ]
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}

    def get_readonly_fields(self, request, obj=None):
        _admin_request.set(request)  # for `entry_link`, which Django calls with the study alone
        if obj and obj.is_frozen:
            return self.readonly_fields + DESIGN_FIELDS
        return self.readonly_fields

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("conditions")

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        study = form.instance
        if not study.is_decision and not study.scales.exists():
            services.add_scales(study=study, scales=DEFAULT_SCALES)
            self.message_user(request, "Added the default five rating scales; edit them below if needed.")

    @admin.display(description="conditions")
    def conditions_list(self, study: Study) -> str:
        return ", ".join(c.name for c in study.conditions.all()) or "—"

    @admin.display(description="participants (completed / started)")
    def participant_counts(self, study: Study) -> str:
        real = study.participants.filter(is_test=False)
        return f"{real.filter(status=Participant.Status.COMPLETED).count()} / {real.count()}"

    @admin.display(description="dashboard")
    def dashboard_link(self, study: Study) -> str:
        if not study.pk:
            return "—"
        return format_html(
            '<a href="{}">dashboard and downloads</a>', reverse("studies:dashboard", args=[study.pk])
        )

    @admin.display(description="sample size")
    def power_link(self, study: Study) -> str:
        if not study.pk:
            return "—"
        return format_html(
            '<a href="{}">Participants needed for 80% power</a> for an expected difference, by simulation of '
            "this design (save the design first)",
            reverse("admin:studies_study_power", args=[study.pk]),
        )

    def get_urls(self):
        return [
            path(
                "<int:study_id>/power/",
                self.admin_site.admin_view(self.power_view),
                name="studies_study_power",
            ),
            *super().get_urls(),
        ]

    def power_view(self, request, study_id: int):
        """Participants needed for 80% power for this study's design: simulated within the request (seconds)."""
        from . import planning

        study = get_object_or_404(Study, pk=study_id)
        if not self.has_view_permission(request, study):
            raise PermissionDenied
        if study.is_decision:
            return self._decision_power_view(request, study)
        form = PowerForm(request.GET if "expected" in request.GET else None)
        try:
            design, design_problem = planning.planned_design(study), ""
        except ValueError as exc:
            design, design_problem = None, str(exc)
        result = curve = None
        if design is not None and form.is_valid():
            data = form.cleaned_data
            try:
                result = planning.plan_power(
                    study=study,
                    expected=data["expected"],
                    unit=data["unit"],
                    test=data["test"],
                    outcome=data["outcome"],
                    n_simulations=data["simulations"],
                )
            except ValueError as exc:
                form.add_error("expected", str(exc))
            else:
                curve = planning.power_curve_data_uri(result)
        return self._power_page(
            request,
            study,
            "admin/studies/study/power.html",
            design=design,
            design_problem=design_problem,
            form=form,
            result=result,
            curve=curve,
            max_participants=planning.MAX_PARTICIPANTS,
        )

    def _power_page(self, request, study: Study, template: str, **context) -> TemplateResponse:
        from . import planning

        percent = round(100 * planning.TARGET_POWER)
        return TemplateResponse(
            request,
            template,
            {
                **self.admin_site.each_context(request),
                "opts": self.opts,
                "original": study,
                "title": f"Participants needed for {percent}% power",
                "study": study,
                "target_percent": percent,
                **context,
            },
        )

    def _decision_power_view(self, request, study: Study):
        """Participants needed for 80% power to find an expected RAIR or RSR difference (decision studies)."""
        from . import planning

        form = DecisionPowerForm(request.GET if "rate_a" in request.GET else None, study=study)
        try:
            design, design_problem = planning.decision_design(study), ""
        except ValueError as exc:
            design, design_problem = None, str(exc)
        result = curve = None
        if design is not None and form.is_valid():
            data = form.cleaned_data
            result = planning.plan_decision_power(
                study=study,
                measure=data["measure"],
                a=data["a"],
                b=data["b"],
                rate_a=data["rate_a"],
                rate_b=data["rate_b"],
                initial_accuracy=data["initial_accuracy"],
                n_simulations=data["simulations"],
            )
            curve = planning.power_curve_data_uri(result)
        return self._power_page(
            request,
            study,
            "admin/studies/study/decision_power.html",
            design=design,
            design_problem=design_problem,
            form=form,
            result=result,
            curve=curve,
            max_participants=planning.DECISION_COUNTS[-1],
        )

    @admin.display(description="entry link (for Prolific)")
    def entry_link(self, study: Study) -> str:
        request = _admin_request.get()
        if not study.pk or request is None:
            return "—"
        return format_html("<code>{}</code>", study_entry_url(request, study))

    def _each(self, request, queryset, action, done: str):
        for study in queryset:
            try:
                result = action(study)
            except (ValueError, services.StudyFrozen) as exc:
                self.message_user(request, str(exc), messages.ERROR)
            else:
                self.message_user(request, done.format(study=study, result=result), messages.SUCCESS)

    @admin.action(description="Sample items (new seed)")
    def sample_items(self, request, queryset):
        self._each(
            request,
            queryset,
            lambda study: len(services.sample_items(study=study)),
            "{study}: sampled {result} items.",
        )

    @admin.action(description="Open (launch) selected studies")
    def open_selected(self, request, queryset):
        self._each(request, queryset, lambda study: services.open_study(study=study), "{study} is open.")

    @admin.action(description="Close selected studies")
    def close_selected(self, request, queryset):
        self._each(request, queryset, lambda study: services.close_study(study=study), "{study} is closed.")

    @admin.action(description="Fill with 10 test responses (simulated)")
    def fill_test_responses(self, request, queryset):
        self._each(
            request,
            queryset,
            lambda study: len(services.fill_with_test_responses(study=study, participants=10)),
            "{study}: {result} simulated participants completed it.",
        )

    @admin.action(description="Delete test responses")
    def delete_test_responses(self, request, queryset):
        self._each(
            request,
            queryset,
            lambda study: services.delete_test_responses(study=study),
            "{study}: deleted {result} simulated participants.",
        )


class ConditionForm(forms.ModelForm):
    """A condition from an inference run, or from an uploaded JSONL file of explanations."""

    jsonl_file = forms.FileField(
        required=False,
        label="JSONL file",
        help_text="One object per line with id, answer (label or text) and explanation.",
    )
    dataset = forms.ModelChoiceField(
        queryset=Dataset.objects.all(), required=False, help_text="Where the file's question ids belong."
    )

    class Meta:
        model = Condition
        fields = ("study", "name", "advice", "inference_run")
        help_texts = {"name": "e.g. multitask/unrevised; left empty, an inference run's method/data_variant."}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "name" in self.fields:
            self.fields["name"].required = False

    def clean(self):
        data = super().clean()
        if self.instance.pk:
            return data
        upload, run = data.get("jsonl_file"), data.get("inference_run")
        if bool(upload) == bool(run):
            raise forms.ValidationError("Choose an inference run or upload a JSONL file (one of the two).")
        advice = data.get("advice") or Condition.Advice.ANSWER_EXPLANATION
        study = data.get("study")
        if study and advice != Condition.Advice.ANSWER_EXPLANATION and not study.is_decision:
            raise forms.ValidationError("Only a decision study shows advice without explanations.")
        if run and not data.get("name"):
            data["name"] = services.default_condition_name(run, advice)
        if upload:
            if not data.get("dataset") or not data.get("name"):
                raise forms.ValidationError(
                    "A JSONL condition needs a name and the dataset of its questions."
                )
            try:
                self.parsed = services.parse_condition_file(
                    lines=upload.readlines(), dataset=data["dataset"], source=upload.name
                )
            except ExplanationFileError as exc:
                raise forms.ValidationError(exc.problems) from exc
        if study and study.is_frozen:
            raise forms.ValidationError(str(services.StudyFrozen(study)))
        return data


@admin.register(Condition)
class ConditionAdmin(admin.ModelAdmin):
    form = ConditionForm
    list_display = ("name", "study", "inference_run", "source_file")
    list_filter = ("study",)

    def get_fields(self, request, obj=None):
        if obj:
            return ("study", "name", "position", "advice", "inference_run", "source_file")
        return ("study", "name", "advice", "inference_run", "jsonl_file", "dataset")

    def get_readonly_fields(self, request, obj=None):
        if obj:
            frozen = obj.study.is_frozen
            return ("study", "inference_run", "source_file") + (
                ("name", "position", "advice") if frozen else ()
            )
        return ()

    def save_model(self, request, obj, form, change):
        if change:
            return super().save_model(request, obj, form, change)
        if obj.inference_run:
            created = services.add_inference_run_condition(
                study=obj.study, inference_run=obj.inference_run, name=obj.name, advice=obj.advice
            )
            summary = f"{created.explanations.count()} explanations from inference run {obj.inference_run.pk}"
        else:
            created = services.add_jsonl_condition(
                study=obj.study,
                name=obj.name,
                parsed=form.parsed,
                source=form.cleaned_data["jsonl_file"].name,
                advice=obj.advice,
            )
            summary = form.parsed.summary()
        obj.pk = created.pk
        self.message_user(request, f"Condition {created.name}: {summary}.")
