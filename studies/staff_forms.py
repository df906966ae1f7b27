"""Forms of the staff pages: computing a study's analysis report, and planning its size by power."""

from django import forms

from .models import Study

TESTS = [
    ("dunn", "Dunn's test: the better condition against another, Bonferroni over all pairs (the paper)"),
    ("kruskal_wallis", "Kruskal-Wallis: any difference among the conditions"),
]
OUTCOMES = [
    ("scale", "one scale (e.g. completeness)"),
    ("quality", "quality: a participant's mean over the scales for an item"),
]
UNITS = [("points", "scale points"), ("a", "Vargha-Delaney A")]


class ComputeReportForm(forms.Form):
    include_test_responses = forms.BooleanField(
        required=False, label="Include test responses", help_text="Simulated participants, e.g. a pilot."
    )
    reference = forms.ChoiceField(
        required=False, label="Reference condition", help_text="What the regressions compare against."
    )

    def __init__(self, *args, study: Study, **kwargs):
        super().__init__(*args, **kwargs)
        names = list(study.conditions.values_list("name", flat=True))
        self.fields["reference"].choices = [
            ("", f"the first ({names[0]})" if names else "the first"),
            *zip(names, names, strict=True),
        ]


class PowerForm(forms.Form):
    expected = forms.FloatField(
        label="Expected difference",
        help_text="How much better one condition is rated than each of the others.",
        widget=forms.NumberInput(attrs={"step": "any"}),
    )
    unit = forms.ChoiceField(choices=UNITS, initial="points", label="Measured in")
    test = forms.ChoiceField(choices=TESTS, initial="dunn")
    outcome = forms.ChoiceField(choices=OUTCOMES, initial="scale")
    simulations = forms.IntegerField(
        min_value=100,
        max_value=10_000,
        initial=1000,
        help_text="Simulated studies per participant count; more give a narrower interval and take longer.",
    )

    def clean(self):
        data = super().clean()
        expected, unit = data.get("expected"), data.get("unit")
        if expected is None or unit is None:
            return data
        if unit == "a" and not 0.5 < expected < 1:
            self.add_error("expected", "As A, the difference lies between 0.5 (none) and 1 (always better).")
        if unit == "points" and expected <= 0:
            self.add_error("expected", "In scale points, the difference must be above 0.")
        return data


class DecisionPowerForm(forms.Form):
    """A decision study's expected reliance pattern: a RAIR (or RSR) in one condition against another."""

    measure = forms.ChoiceField(
        choices=[
            ("rair", "RAIR: taking right advice after a wrong first answer"),
            ("rsr", "RSR: keeping a right first answer against wrong advice"),
        ],
        initial="rair",
    )
    a = forms.ChoiceField(label="Condition A")
    rate_a = forms.FloatField(min_value=0.01, max_value=0.99, initial=0.6, label="Expected rate in A")
    b = forms.ChoiceField(label="Condition B")
    rate_b = forms.FloatField(min_value=0.01, max_value=0.99, initial=0.4, label="Expected rate in B")
    initial_accuracy = forms.FloatField(
        min_value=0.05,
        max_value=0.95,
        initial=0.6,
        help_text="How often people answer right before any advice (it decides how many items count for RAIR and RSR).",
    )
    simulations = forms.IntegerField(min_value=20, max_value=1000, initial=100)

    def __init__(self, *args, study: Study, **kwargs):
        super().__init__(*args, **kwargs)
        names = list(study.conditions.values_list("name", flat=True))
        self.fields["a"].choices = self.fields["b"].choices = [(n, n) for n in names]
        if len(names) >= 2:
            self.fields["a"].initial, self.fields["b"].initial = names[-1], names[-2]

    def clean(self):
        data = super().clean()
        if data.get("a") and data.get("a") == data.get("b"):
            self.add_error("b", "Choose two different conditions.")
        if data.get("rate_a") is not None and data.get("rate_a") == data.get("rate_b"):
            self.add_error("rate_b", "With equal rates there is no difference to find.")
        return data
