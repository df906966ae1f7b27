"""Every ratings analysis in one call: exclusions, descriptives, the paper's tests, mixed and ordinal models, agreement."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field

import pandas as pd

from .agreement import krippendorff_alpha
from .descriptives import QUALITY, describe, observations
from .exclusions import ANALYSED_STATUSES, apply_exclusions
from .inputs import DEFAULT_SCALE_RANGE, InputError, ScaleRange, validate_ratings
from .mixed_models import mixed_models, ordinal_check
from .paper_tests import dunn_with_vda, kruskal_wallis, ols_quality

ALPHA = 0.05


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
    summary: list[str] = field(default_factory=list)

    def tables(self) -> dict[str, pd.DataFrame]:
        """Every table by the file name it is written under (without .csv)."""
        return {
            "exclusions": self.exclusions,
            "ratings_descriptives": self.descriptives,
            "kruskal_wallis": self.kruskal_wallis,
            "pairwise_dunn_vda": self.pairwise,
            "ols_quality": self.ols,
            "mixed_fixed_effects": self.mixed_fixed_effects,
            "mixed_pairwise": self.mixed_pairs,
            "mixed_variance_components": self.mixed_variance,
            "ordinal_check": self.ordinal,
            "agreement_krippendorff": self.agreement,
        }


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
) -> RatingsAnalysis:
    """Analyse a ratings table in the export's format (raw text or typed; it is validated here).

    `conditions` and `scales`, when given, are the study's own, in the order tables and plots should use;
    otherwise conditions are sorted by name and scales kept in the order they first appear. `reference` is the
    condition the regressions compare against (default: the first condition).
    """
    valid = validate_ratings(ratings, scale_range=scale_range, conditions=conditions, scales=scales)
    excluded = apply_exclusions(
        valid, include_test_responses=include_test_responses, include_statuses=include_statuses
    )
    kept = excluded.kept
    source = ratings.attrs.get("source", "ratings")
    if kept.empty:
        raise InputError(source, ["no ratings left after exclusions: " + " ".join(excluded.lines)])
    present = set(kept["condition"])
    order = list(conditions) if conditions is not None else sorted(present)
    missing = [c for c in order if c not in present]
    order = [c for c in order if c in present]
    if len(order) < 2:
        raise InputError(
            source, [f"ratings in {len(order)} condition(s) after exclusions; comparing needs two or more"]
        )
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
    kw = kruskal_wallis(long, order, alpha=alpha)
    pairwise = dunn_with_vda(long, order, alpha=alpha)
    ols = ols_quality(long, order, reference, alpha=alpha)
    mixed = mixed_models(long, order, reference, alpha=alpha)
    ordinal = ordinal_check(long, order, reference, alpha=alpha)
    agreement = krippendorff_alpha(kept, scale_order, scale_range)

    summary = list(excluded.lines)
    if missing:
        summary.append(f"No ratings in condition(s) {', '.join(missing)}; left out of the analysis.")
    items = long[long["outcome"] == QUALITY]
    summary.append(
        f"{len(kept)} ratings of {len(items)} items (a question in a condition) by {kept['participant_id'].nunique()} "
        f"participants, {len(order)} conditions, {len(scale_order)} scales; quality = a participant's mean over "
        f"the scales for one item; reference condition {reference}; alpha = {alpha}."
    )
    summary += list(kw["statement"])
    summary += _significant_or_count(pairwise, pairwise["p_holm"] < alpha, "Dunn's test")
    summary += [s for s in ols["statement"] if s]
    summary += _significant_or_count(mixed.pairs, mixed.pairs["p_holm"] < alpha, "the mixed model")
    summary += _clustering_lines(mixed.variance)
    summary += _paper_vs_mixed(pairwise, mixed.pairs, alpha)
    changed = ordinal[ordinal["conclusion_changes"]]
    summary += (
        list(changed["statement"])
        if len(changed)
        else [
            "Ordinal view (proportional-odds, clustered by participant) agrees with the linear view on every pair of every scale."
        ]
    )
    summary += list(agreement["statement"])
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
        summary=summary,
    )


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
        lines.append(
            f"Variance in {row.outcome}: participants "
            f"{row.participant_share:.0%}, questions {row.question_share:.0%}, the rest residual"
            + ("" if row.converged and not row.notes else f" (fit notes: {row.notes or 'did not converge'})")
            + "."
        )
    return lines


def _paper_vs_mixed(pairwise: pd.DataFrame, mixed_pairs: pd.DataFrame, alpha: float) -> list[str]:
    """Pairs on which treating ratings as independent (the paper) and the mixed model disagree."""
    key = ["outcome", "condition_a", "condition_b"]
    both = pairwise[[*key, "p_bonferroni"]].merge(mixed_pairs[[*key, "p_holm"]], on=key)
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
