"""Every ratings analysis in one call: exclusions, descriptives, the paper's tests, mixed and ordinal models, agreement."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field

import pandas as pd

from .agreement import krippendorff_alpha
from .descriptives import QUALITY, describe, observations
from .design import ALPHA
from .exclusions import ANALYSED_STATUSES, apply_exclusions
from .inputs import DEFAULT_SCALE_RANGE, InputError, ScaleRange, validate_ratings
from .mixed_models import mixed_models, ordinal_check
from .outliers import changed_conclusions, outlier_bounds
from .paper_tests import dunn_with_vda, kruskal_wallis, ols_quality
from .sample_size import SECTION as SAMPLE_SIZE_SECTION
from .sample_size import sample_size


@dataclass(frozen=True)
class RatingsAnalysis:
    conditions: list[str]
    scales: list[str]
    reference: str
    alpha: float
    analysed: pd.DataFrame  # the rating rows left after exclusions
    exclusions: pd.DataFrame
    descriptives: pd.DataFrame
    kruskal_wallis: pd.DataFrame
    pairwise: pd.DataFrame  # Dunn (unadjusted, Bonferroni, Holm) and Vargha-Delaney A
    ols: pd.DataFrame
    mixed_fixed_effects: pd.DataFrame
    mixed_pairs: pd.DataFrame
    mixed_variance: pd.DataFrame
    ordinal: pd.DataFrame
    agreement: pd.DataFrame
    explanation_length: pd.DataFrame  # per condition: items, mean and SD of explanation length in characters
    quality_outliers: pd.DataFrame  # items whose quality lies beyond 1.5 IQR of their condition
    summary: dict[str, list[str]] = field(default_factory=dict)  # result lines by section, in reading order
    removed_outliers: bool = False  # whether the OLS left the quality outliers out (the paper)

    def tables(self) -> dict[str, pd.DataFrame]:
        """Every table by the file name it is written under (without .csv)."""
        return {
            "exclusions": self.exclusions,
            "ratings_descriptives": self.descriptives,
            "kruskal_wallis": self.kruskal_wallis,
            "pairwise_dunn_vda": self.pairwise,
            "ols_quality": self.ols,
            "quality_outliers": self.quality_outliers,
            "explanation_length": self.explanation_length,
            "mixed_fixed_effects": self.mixed_fixed_effects,
            "mixed_pairwise": self.mixed_pairs,
            "mixed_variance_components": self.mixed_variance,
            "ordinal_check": self.ordinal,
            "agreement_krippendorff": self.agreement,
        }


def dataset_condition(condition: str, dataset: str) -> str:
    return f"{condition} [{dataset}]"


def by_dataset(
    kept: pd.DataFrame, conditions: list[str] | None, reference: str | None
) -> tuple[pd.DataFrame, list[str] | None, str | None, list[str]]:
    """A study whose items come from several datasets (the export's `dataset` column) is analysed with the dataset
    as a factor crossed with the condition: each condition of each dataset is its own group, named
    "condition [dataset]" (a plain `reference` is taken in the first dataset). One dataset: nothing changes."""
    datasets = sorted(set(kept["dataset"]) - {""}) if "dataset" in kept.columns else []
    if len(datasets) < 2:
        return kept, conditions, reference, []
    order = list(conditions) if conditions is not None else sorted(set(kept["condition"]))
    kept = kept.assign(
        condition=[
            dataset_condition(c, d) if d else c
            for c, d in zip(kept["condition"], kept["dataset"], strict=True)
        ]
    )
    conditions = [dataset_condition(c, d) for d in datasets for c in order]
    if reference is not None and reference not in conditions:
        reference = dataset_condition(reference, datasets[0])
    line = (
        f"The items come from {len(datasets)} datasets ({', '.join(datasets)}): the dataset is a factor crossed "
        "with the condition, so each condition is compared per dataset, as 'condition [dataset]'."
    )
    return kept, conditions, reference, [line]


def analyze_ratings(
    ratings: pd.DataFrame,
    *,
    reference: str | None = None,
    include_test_responses: bool = False,
    include_statuses: Collection[str] = ANALYSED_STATUSES,
    scale_range: ScaleRange = DEFAULT_SCALE_RANGE,
    conditions: list[str] | None = None,
    scales: list[str] | None = None,
    alpha: float = ALPHA,
    remove_outliers: bool = False,
) -> RatingsAnalysis:
    """Analyse a ratings table in the export's format (raw text or typed; it is validated here).

    `conditions` and `scales`, when given, are the study's own, in the order tables and plots should use;
    otherwise conditions are sorted by name and scales kept in the order they first appear. `reference` is the
    condition the regressions compare against (default: the first condition). `remove_outliers` (the paper)
    fits the OLS of quality without the items whose quality lies beyond 1.5 IQR of their condition.
    """
    valid = validate_ratings(ratings, scale_range=scale_range, conditions=conditions, scales=scales)
    excluded = apply_exclusions(
        valid, include_test_responses=include_test_responses, include_statuses=include_statuses
    )
    kept, conditions, reference, dataset_lines = by_dataset(excluded.kept, conditions, reference)
    source = ratings.attrs.get("source", "ratings")
    size = sample_size(kept, conditions)
    if size.blocking:
        raise InputError(
            source, [f"after exclusions, {problem} ({' '.join(excluded.lines)})" for problem in size.blocking]
        )
    present = set(kept["condition"])
    order = list(conditions) if conditions is not None else sorted(present)
    missing = [c for c in order if c not in present]
    order = [c for c in order if c in present]
    scale_order = [
        s for s in (scales if scales is not None else kept["scale"].unique()) if s in set(kept["scale"])
    ]
    if QUALITY in scale_order:
        raise InputError(
            source, [f"a scale is named '{QUALITY}', the name of the mean over scales; rename the scale"]
        )
    reference = order[0] if reference is None else reference
    if reference not in order:
        raise ValueError(
            f"reference condition '{reference}' has no ratings here; choose one of: {', '.join(order)}"
        )

    long = observations(kept, scale_order)
    spread = long.groupby("outcome", observed=True)["value"].nunique()
    constant = [str(o) for o in spread.index if spread[o] < 2]
    if len(constant) == len(spread):
        raise InputError(source, ["every rating has the same value: there is nothing to compare"])
    tested = long[~long["outcome"].isin(constant)]
    kw = kruskal_wallis(tested, order, alpha=alpha)
    pairwise = dunn_with_vda(tested, order, alpha=alpha)
    quality = outlier_bounds(long[long["outcome"] == QUALITY], "value", ["condition"])
    without_outliers = long.drop(index=quality.index[quality["outlier"]])
    ols_all = ols_quality(long, order, reference, alpha=alpha)
    ols_removed = ols_quality(without_outliers, order, reference, alpha=alpha)
    ols = ols_removed if remove_outliers else ols_all
    outlier_lines = [
        f"{int(quality['outlier'].sum())} of {len(quality)} items have a quality beyond 1.5 IQR of their condition; "
        + ("the OLS leaves them out (as the paper)." if remove_outliers else "every analysis keeps them.")
    ]
    outlier_lines += changed_conclusions(
        ols_all,
        ols_removed,
        key=["term"],
        alpha=alpha,
        effect="estimate",
        what=lambda row: f"in the OLS of quality, {row['term']}",
    )
    lengths = _explanation_lengths(quality, order)
    mixed = mixed_models(tested, order, reference, alpha=alpha)
    ordinal = ordinal_check(tested, order, reference, alpha=alpha)
    agreement = krippendorff_alpha(kept, [s for s in scale_order if s not in constant], scale_range)

    data_lines = list(excluded.lines) + dataset_lines
    data_lines += [
        f"Every rating on {o} is {long.loc[long['outcome'] == o, 'value'].iloc[0]:g}: no test can compare "
        "conditions on it, so it is left out of the tests and agreement (it stays in the descriptives)."
        for o in constant
    ]
    if missing:
        data_lines.append(f"No ratings in condition(s) {', '.join(missing)}; left out of the analysis.")
    items = long[long["outcome"] == QUALITY]
    data_lines.append(
        f"{len(kept)} ratings of {len(items)} items (a question in a condition) by {kept['participant_id'].nunique()} "
        f"participants, {len(order)} conditions, {len(scale_order)} scales; quality = a participant's mean over "
        f"the scales for one item; reference condition {reference}; alpha = {alpha}."
    )
    changed = ordinal[ordinal["conclusion_changes"]]
    unfitted = sorted(set(ordinal.loc[~ordinal["ordinal_converged"], "outcome"]))
    summary = {
        "Data and exclusions": data_lines,
        **({SAMPLE_SIZE_SECTION: size.warnings} if size.warnings else {}),
        "Explanation length": [
            f"{r.condition}: {r.mean_chars:.0f} characters on average (SD {r.sd_chars:.0f}, {r.items} items)."
            for r in lengths.itertuples()
        ],
        "The paper's tests (ratings treated as independent)": [
            *kw["statement"],
            *_significant_or_count(pairwise, pairwise["p_holm"] < alpha, "Dunn's test"),
            *[s for s in ols["statement"] if s],
            *outlier_lines,
        ],
        "Mixed models (random intercepts for participant and question)": [
            *_significant_or_count(
                converged_pairs := mixed.pairs[mixed.pairs["converged"]],
                converged_pairs["p_holm"] < alpha,
                "the mixed model",
            ),
            *_clustering_lines(mixed.variance),
            *_paper_vs_mixed(pairwise, mixed.pairs, alpha),
        ],
        "Ordinal view": [
            *(
                changed["statement"]
                if len(changed)
                else [
                    "The proportional-odds view (clustered by participant) agrees with the linear view on every "
                    f"pair of every scale{' it could fit' if unfitted else ''}."
                ]
            ),
            *[
                f"The proportional-odds model of {o} did not converge; no ordinal view of it."
                for o in unfitted
            ],
        ],
        "Agreement": list(agreement["statement"]),
    }
    return RatingsAnalysis(
        conditions=order,
        scales=scale_order,
        reference=reference,
        alpha=alpha,
        analysed=kept,
        exclusions=excluded.table,
        descriptives=describe(long, order),
        kruskal_wallis=kw,
        pairwise=pairwise,
        ols=ols,
        mixed_fixed_effects=mixed.fixed_effects,
        mixed_pairs=mixed.pairs,
        mixed_variance=mixed.variance,
        ordinal=ordinal,
        agreement=agreement,
        explanation_length=lengths,
        quality_outliers=quality[quality["outlier"]]
        .drop(columns=["outcome", "outlier"])
        .reset_index(drop=True),
        summary=summary,
        removed_outliers=remove_outliers,
    )


def _explanation_lengths(quality: pd.DataFrame, conditions: list[str]) -> pd.DataFrame:
    """Mean explanation length per condition over the rated items (one row per item), in characters."""
    grouped = quality.groupby("condition")["explanation_chars"]
    table = pd.DataFrame({"items": grouped.count(), "mean_chars": grouped.mean(), "sd_chars": grouped.std()})
    return table.reindex([c for c in conditions if c in table.index]).rename_axis("condition").reset_index()


def _significant_or_count(table: pd.DataFrame, significant: pd.Series, test: str) -> list[str]:
    lines = list(table.loc[significant, "statement"])
    rest = int((~significant).sum())
    if rest:
        lines.append(
            f"The other {rest} pairs (outcome x condition pair) show no significant difference by {test}."
        )
    return lines


def _clustering_lines(variance: pd.DataFrame) -> list[str]:
    lines = []
    for row in variance.itertuples():
        line = (
            f"Variance in {row.outcome}: participants {row.participant_share:.0%}, "
            f"questions {row.question_share:.0%}, the rest residual"
        )
        if not row.converged:
            line += (
                ". The fit did not converge, so its tests are not stated as conclusions here "
                "(numbers and warnings in the mixed-model tables)"
            )
        elif row.notes:
            line += " (the fit raised warnings, listed in mixed_variance_components.csv)"
        lines.append(line + ".")
    return lines


def _paper_vs_mixed(pairwise: pd.DataFrame, mixed_pairs: pd.DataFrame, alpha: float) -> list[str]:
    """Pairs on which treating ratings as independent (the paper) and the mixed model disagree."""
    key = ["outcome", "condition_a", "condition_b"]
    both = pairwise[[*key, "p_bonferroni"]].merge(
        mixed_pairs.loc[mixed_pairs["converged"], [*key, "p_holm"]], on=key
    )
    disagree = both[(both["p_bonferroni"] < alpha) != (both["p_holm"] < alpha)]
    if disagree.empty:
        return [
            "The paper's Dunn tests (Bonferroni) and the mixed model (Holm) reach the same conclusion on every pair."
        ]
    return [
        f"Paper's test and mixed model disagree on {r.condition_a} vs {r.condition_b} on {r.outcome}: "
        f"Dunn p_bonferroni = {r.p_bonferroni:.3f}, mixed model p_holm = {r.p_holm:.3f}."
        for r in disagree.itertuples()
    ]
