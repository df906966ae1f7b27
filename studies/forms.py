"""Forms of the annotator pages: they validate input; the templates lay it out (fieldsets, legends)."""

import json

from django import forms

from .models import DemographicQuestion, Scale
from .participation import COMMENT_MAX_CHARS


class ConsentForm(forms.Form):
    # "no" asks the participant to confirm; "leave" is the confirmation, which ends the study.
    consent = forms.ChoiceField(
        choices=[("yes", "I agree"), ("no", "I do not agree"), ("leave", "Yes, leave the study")]
    )


class DemographicsForm(forms.Form):
    def __init__(self, *args, questions: list[DemographicQuestion], **kwargs):
        super().__init__(*args, **kwargs)
        self.questions = questions
        for q in questions:
            if q.kind == DemographicQuestion.Kind.CHOICE:
                field = forms.ChoiceField(choices=[(c, c) for c in q.choices], widget=forms.RadioSelect)
            elif q.kind == DemographicQuestion.Kind.NUMBER:
                field = forms.IntegerField(min_value=0, max_value=150)
            else:
                field = forms.CharField(max_length=200)
            field.required = q.required
            field.label = q.label
            self.fields[q.key] = field

    def answers(self) -> dict:
        return {key: value for key, value in self.cleaned_data.items() if value not in (None, "")}


class RatingForm(forms.Form):
    """The answers to one item; which item is named by the page's URL, never by the form."""

    def __init__(self, *args, scales: list[Scale], comment_enabled: bool, **kwargs):
        super().__init__(*args, **kwargs)
        self.scales = scales
        for scale in scales:
            self.fields[scale.name] = forms.TypedChoiceField(
                label=scale.statement,
                choices=[(value, anchor) for value, anchor in scale.points],
                coerce=int,
                widget=forms.RadioSelect,
                error_messages={"required": f"Please rate “{scale.label}”."},
            )
        if comment_enabled:
            self.fields["comment"] = forms.CharField(
                required=False,
                max_length=COMMENT_MAX_CHARS,
                widget=forms.Textarea(attrs={"rows": 2}),
                error_messages={
                    "max_length": f"Please shorten your comment to {COMMENT_MAX_CHARS:,} characters or fewer "
                    "(it has %(show_value)s)."
                },
            )

    def values(self) -> dict[str, int]:
        return {scale.name: self.cleaned_data[scale.name] for scale in self.scales}

    @property
    def scale_errors(self) -> bool:
        return any(self[scale.name].errors for scale in self.scales)

    def scale_rows(self):
        """(scale, bound field, the value chosen so far or None) for the template."""
        rows = []
        for scale in self.scales:
            field = self[scale.name]
            chosen = field.data if self.is_bound else None
            rows.append((scale, field, int(chosen) if chosen and str(chosen).isdigit() else None))
        return rows


CONFIDENCE_ANCHORS = ("guessing", "unsure", "fairly sure", "sure", "certain")


class DecisionForm(forms.Form):
    """An answer to one decision item (either step), its optional confidence and the page's clicks."""

    def __init__(self, *args, labels: tuple[str, ...], ask_confidence: bool, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["answer"] = forms.ChoiceField(
            choices=[(label, label) for label in labels],
            widget=forms.RadioSelect,
            error_messages={"required": "Please choose an answer."},
        )
        if ask_confidence:
            self.fields["confidence"] = forms.TypedChoiceField(
                choices=[(str(v), anchor) for v, anchor in enumerate(CONFIDENCE_ANCHORS, start=1)],
                coerce=int,
                empty_value=None,
                required=False,
                widget=forms.RadioSelect,
            )
        self.fields["events"] = forms.CharField(required=False, widget=forms.HiddenInput)

    def clean_events(self) -> list:
        try:
            events = json.loads(self.cleaned_data.get("events") or "[]")
        except ValueError:
            return []  # the page's own script writes this field; a broken one costs no answer
        return events if isinstance(events, list) else []
