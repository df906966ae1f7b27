"""Analysis presets: `project` (the default) and `paper` (the study's own analysis), and how they differ.

Each preset choice is also its own option; the report's Methods lists the differences with their reasons.
"""

from __future__ import annotations

from dataclasses import dataclass

from .accuracy import ANOVA_DESIGNS

PRESETS = ("project", "paper")


@dataclass(frozen=True)
class AnalysisChoices:
    remove_outliers: bool = False
    accuracy_design: str = "per_variant"

    def __post_init__(self) -> None:
        if self.accuracy_design not in ANOVA_DESIGNS:
            raise ValueError(
                f"accuracy design must be one of {', '.join(ANOVA_DESIGNS)}, got {self.accuracy_design!r}"
            )


_PRESET_CHOICES = {
    "project": AnalysisChoices(),
    "paper": AnalysisChoices(remove_outliers=True, accuracy_design="conditions"),
}

# (choice, the paper's, the project's, why the project differs)
DIFFERENCES = (
    (
        "outliers",
        "removed per condition before the OLS of quality, and per condition x student size before the accuracy "
        "statistics (beyond 1.5 IQR, quartiles as R's type 7)",
        "kept and flagged",
        "an outlier is a real rating or a real run (a diverged seed is a result of the recipe), and dropping values "
        "by a rule fitted on the same data makes the tests too confident; the report says where removal would "
        "change a conclusion",
    ),
    (
        "accuracy ANOVA",
        "one two-way ANOVA (type II) accuracy ~ condition * student size over the study's conditions, Tukey HSD of "
        "conditions within each size",
        "one two-way ANOVA (type II) per data variant, accuracy ~ method * student size, Tukey HSD of methods "
        "within each size",
        "a condition mixes method and data variant, so its effect cannot say which of the two matters; within one "
        "data variant the method is the only thing that varies",
    ),
)


def resolve(
    preset: str, *, remove_outliers: bool | None = None, accuracy_design: str | None = None
) -> AnalysisChoices:
    """The preset's choices, each overridden when given."""
    if preset not in PRESETS:
        raise ValueError(f"unknown analysis preset {preset!r}; expected one of {', '.join(PRESETS)}")
    base = _PRESET_CHOICES[preset]
    return AnalysisChoices(
        remove_outliers=base.remove_outliers if remove_outliers is None else remove_outliers,
        accuracy_design=base.accuracy_design if accuracy_design is None else accuracy_design,
    )


def methods_lines(preset: str, choices: AnalysisChoices) -> list[str]:
    """What the report's Methods says about the preset: the choices made, and each difference with its reason."""
    used = (
        f"Preset: {preset}; outliers {'removed' if choices.remove_outliers else 'kept'}, accuracy ANOVA "
        f"{'over the conditions' if choices.accuracy_design == 'conditions' else 'per data variant'}."
    )
    return [used] + [
        f"{choice.capitalize()}: the paper's analysis: {paper}; the project's default: {project}. Why the project "
        f"differs: {reason}."
        for choice, paper, project, reason in DIFFERENCES
    ]
