"""Admin forms: create and launch runs, launch a training grid, import files.

The checks themselves live in `run_settings` (and, for training settings, in the library's `TrainConfig`); a form
calls them through `_apply_check` and shows their messages beside its fields.
"""

import json
import re
from collections.abc import Callable, Sequence
from typing import TypeVar

from django import forms
from django.core.exceptions import ValidationError
from django.forms.models import construct_instance

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
from .run_settings import ValidatedGrid, ValidatedRun, validate_run, validate_training_grid

T = TypeVar("T")
LAUNCH_HELP = "Untick to create the run without queueing it; launch it later with the “Launch” action."


class PrettyJSONField(forms.JSONField):
    """Shows JSON indented, one setting per line."""

    widget = forms.Textarea(attrs={"rows": 13, "cols": 50})

    def prepare_value(self, value):
        if isinstance(value, dict):
            return json.dumps(value, indent=2)
        return super().prepare_value(value)


def _apply_check(form: forms.Form, validate: Callable[..., T], **settings) -> T | None:
    """The one adapter from `run_settings` to a form: once the form's own fields are valid, validate; show its
    errors beside the fields they name (the others above the form). Returns the validated value, or None."""
    if form.errors:
        return None
    try:
        return validate(**settings)
    except ValidationError as exc:
        form.add_error(None, exc)
        return None


class NewRunForm(forms.ModelForm):
    """A new run's settings; `clean` validates them with `run_settings.validate_run`, and `validated` is what
    `services.create_run` saves (the form's own instance, with the values the validation filled in)."""

    launch = forms.BooleanField(required=False, initial=True, label="Launch now", help_text=LAUNCH_HELP)
    validated: ValidatedRun | None = None

    def clean(self):
        data = super().clean()
        run = construct_instance(self, self.instance, fields=self._meta.fields)
        self.validated = _apply_check(
            self, validate_run, run=run, generation_runs=list(data.get("generation_runs", ()))
        )
        if self.validated is not None:  # e.g. the full hyperparameters; the model form saves these
            for name in data.keys() & {f.name for f in run._meta.concrete_fields}:
                data[name] = getattr(run, name)
        return data


class GenerationRunForm(NewRunForm):
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


class TrainingRunForm(NewRunForm):
    hyperparameters = PrettyJSONField(
        required=False,
        initial=TRAINING_DEFAULTS,
        help_text=f"A JSON object; settings left out take the paper's defaults: {hyperparameter_help()}.",
    )

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


class InferenceRunForm(NewRunForm):
    class Meta:
        model = InferenceRun
        fields = ["name", *InferenceRun.SETTINGS_FIELDS]
        help_texts = {"dataset": "Leave empty for the training run's dataset."}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["training_run"].queryset = TrainingRun.objects.filter(status=Run.Status.SUCCEEDED)
        self.fields["dataset"].required = False


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

    def __init__(self, *args, dataset: Dataset, generation_runs: Sequence[GenerationRun], **kwargs):
        super().__init__(*args, **kwargs)
        self.dataset, self.generation_runs = dataset, generation_runs
        self.validated: ValidatedGrid | None = None

    def clean_students(self) -> list[str]:
        return [line.strip() for line in self.cleaned_data["students"].splitlines() if line.strip()]

    def clean_seeds(self) -> list[int]:
        return parse_seeds(self.cleaned_data["seeds"])

    def clean(self):
        data = super().clean()
        self.validated = _apply_check(
            self,
            validate_training_grid,
            dataset=self.dataset,
            generation_runs=self.generation_runs,
            **{
                name: data.get(name)
                for name in ("students", "methods", "data_variants", "seeds", "hyperparameters")
            },
        )
        return data


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
