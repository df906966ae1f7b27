"""Admin forms: create and launch runs, launch a training grid, import files.

The checks themselves live in `run_settings`; a form only shows their messages beside its fields.
"""

import json
import re

from django import forms
from django.core.exceptions import ValidationError

from .hyperparameters import TRAINING_DEFAULTS, hyperparameter_help
from .models import (
    Dataset,
    DataVariant,
    GenerationRun,
    InferenceRun,
    Question,
    Run,
    TrainingMethod,
    TrainingRun,
)
from .run_settings import check_generation_settings, check_inference_settings, check_training_settings

LAUNCH_HELP = "Untick to create the run without queueing it; launch it later with the “Launch” action."


class PrettyJSONField(forms.JSONField):
    """Shows JSON indented, one setting per line."""

    widget = forms.Textarea(attrs={"rows": 13, "cols": 50})

    def prepare_value(self, value):
        if isinstance(value, dict):
            return json.dumps(value, indent=2)
        return super().prepare_value(value)


def _apply_check(form: forms.Form, check, **settings) -> object:
    """Run a settings check once the fields it needs are valid; show its errors beside those fields."""
    if any(value is None for value in settings.values()):
        return None
    try:
        return check(**settings)
    except ValidationError as exc:
        form.add_error(None, exc)
        return None


class GenerationRunForm(forms.ModelForm):
    launch = forms.BooleanField(required=False, initial=True, label="Launch now", help_text=LAUNCH_HELP)

    class Meta:
        model = GenerationRun
        fields = ["name", *GenerationRun.SETTINGS_FIELDS]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["method"].choices = [
            (value, label)
            for value, label in GenerationRun.Method.choices
            if value in GenerationRun.LAUNCHABLE_METHODS
        ]

    def clean(self):
        data = super().clean()
        _apply_check(
            self,
            check_generation_settings,
            teacher=data.get("teacher"),
            dataset=data.get("dataset"),
            split=data.get("split"),
            method=data.get("method"),
        )
        return data


class TrainingRunForm(forms.ModelForm):
    hyperparameters = PrettyJSONField(
        required=False,
        initial=TRAINING_DEFAULTS,
        help_text=f"A JSON object; settings left out take the paper's defaults: {hyperparameter_help()}.",
    )
    launch = forms.BooleanField(required=False, initial=True, label="Launch now", help_text=LAUNCH_HELP)

    class Meta:
        model = TrainingRun
        fields = ["name", *TrainingRun.SETTINGS_FIELDS]
        help_texts = {
            "generation_runs": "Succeeded generation runs on the train questions; together they must hold the "
            "explanations the method and data variant need (option explanations too for counterfactual methods).",
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["generation_runs"].queryset = GenerationRun.objects.filter(
            status=Run.Status.SUCCEEDED, split=Question.Split.TRAIN
        ).select_related("teacher", "dataset")

    def clean(self):
        data = super().clean()
        hyperparameters = _apply_check(
            self,
            check_training_settings,
            dataset=data.get("dataset"),
            student=data.get("student"),
            method=data.get("method"),
            data_variant=data.get("data_variant"),
            generation_runs=list(data["generation_runs"]) if "generation_runs" in data else None,
            hyperparameters=data.get("hyperparameters"),
        )
        if hyperparameters is not None:
            data["hyperparameters"] = hyperparameters
        return data


class InferenceRunForm(forms.ModelForm):
    launch = forms.BooleanField(required=False, initial=True, label="Launch now", help_text=LAUNCH_HELP)

    class Meta:
        model = InferenceRun
        fields = ["name", *InferenceRun.SETTINGS_FIELDS]
        help_texts = {"dataset": "Leave empty for the training run's dataset."}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["training_run"].queryset = TrainingRun.objects.filter(status=Run.Status.SUCCEEDED)
        self.fields["dataset"].required = False

    def clean(self):
        data = super().clean()
        if data.get("training_run") and not data.get("dataset"):
            data["dataset"] = data["training_run"].dataset
        _apply_check(
            self,
            check_inference_settings,
            training_run=data.get("training_run"),
            checkpoint_role=data.get("checkpoint_role"),
            dataset=data.get("dataset"),
            split=data.get("split"),
        )
        return data


def parse_seeds(text: str) -> list[int]:
    """'0-5' or '0, 1, 2' (or both) as a list of seeds."""
    seeds: list[int] = []
    for part in filter(None, (p.strip() for p in re.split(r"[,\s]+", text))):
        match = re.fullmatch(r"(\d+)(?:-(\d+))?", part)
        if not match:
            raise ValidationError(f"{part!r} is not a seed or a range like 0-5.")
        first, last = int(match[1]), int(match[2] or match[1])
        if last < first:
            raise ValidationError(f"the range {part} runs backwards.")
        seeds.extend(range(first, last + 1))
    if not seeds:
        raise ValidationError("Give at least one seed.")
    return list(dict.fromkeys(seeds))


class TrainingGridForm(forms.Form):
    students = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="One per line: hub ids (e.g. google/t5-v1_1-large), local paths or named tiny configs.",
    )
    methods = forms.MultipleChoiceField(
        choices=TrainingMethod.choices, widget=forms.CheckboxSelectMultiple, initial=TrainingMethod.values
    )
    data_variants = forms.MultipleChoiceField(
        choices=DataVariant.choices, widget=forms.CheckboxSelectMultiple, initial=DataVariant.values
    )
    seeds = forms.CharField(
        initial="0-5", help_text="Comma-separated seeds or ranges, e.g. 0-5 (the paper's)."
    )
    hyperparameters = PrettyJSONField(
        required=False,
        initial=TRAINING_DEFAULTS,
        help_text=f"The same for every run; settings left out take the paper's defaults: {hyperparameter_help()}.",
    )
    launch = forms.BooleanField(required=False, initial=True, label="Launch now", help_text=LAUNCH_HELP)

    def clean_students(self) -> list[str]:
        students = [line.strip() for line in self.cleaned_data["students"].splitlines() if line.strip()]
        if not students:
            raise ValidationError("Name at least one student.")
        return list(dict.fromkeys(students))

    def clean_seeds(self) -> list[int]:
        return parse_seeds(self.cleaned_data["seeds"])


class ImportQuestionsForm(forms.Form):
    file = forms.FileField(help_text="JSONL in the Hugging Face commonsense_qa layout or the CoS-E layout.")
    dataset = forms.CharField(max_length=200, initial="cqa", help_text="Dataset name; created if new.")
    split = forms.ChoiceField(
        choices=[("", "from the file name (cqa_train.jsonl → train)"), *Question.Split.choices],
        required=False,
    )


class ImportTeacherOutputsForm(forms.Form):
    file = forms.FileField(
        help_text="JSONL in the recorded layout (one object per question: explanation, revised_explanation, "
        "critique, option_explanations) or the output records `python -m training generate` writes."
    )
    dataset = forms.ModelChoiceField(Dataset.objects.all(), help_text="The dataset holding these questions.")
    teacher = forms.CharField(
        max_length=200, help_text="Teacher name, e.g. llama2-70b-chat; created as a recorded teacher if new."
    )
