"""Beyond the paper: models that know ratings come in clusters, and an ordinal view of the Likert scales.

Linear mixed model. Participants and questions are crossed (each participant rates many questions, each question is
rated by many participants), so both random intercepts are statsmodels variance components over a single group
holding every row: value = condition effect + u_participant + v_question + e, with u, v, e independent normals,
fitted by REML. This is statsmodels' documented way to fit crossed random effects (MixedLM with `exog_vc` and one
group); condition contrasts are Wald z-tests on the fixed effects.

Ordinal view. A proportional-odds (cumulative logit) model of each scale on condition, against the same linear model
of the same rows, both with standard errors clustered by participant. Only the treatment of the 1-5 values differs
(ordered categories vs numbers), so where the two disagree on a pair the ordinal view changes a conclusion;
those pairs are named in the result lines. statsmodels has no ordinal mixed model, hence the clustered errors.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
import statsmodels.api as sm
from statsmodels.miscmodels.ordinal_model import OrderedModel
from statsmodels.regression.mixed_linear_model import MixedLM, VCSpec

from .descriptives import QUALITY
from .design import condition_columns, pairwise_contrasts
from .formatting import outcome_phrase, p_text


@dataclass(frozen=True)
class MixedModelResults:
    fixed_effects: pd.DataFrame  # outcome, term, estimate, se, z, p, ci_low, ci_high
    pairs: (
        pd.DataFrame
    )  # outcome, condition_a, condition_b, difference, se, statistic, p, p_holm, ci..., statement
    variance: pd.DataFrame  # outcome, participant_var, question_var, residual_var, shares, converged, notes


def _indicators(labels: pd.Series) -> tuple[list[str], np.ndarray]:
    codes, levels = pd.factorize(labels, sort=True)
    matrix = np.zeros((len(labels), len(levels)))
    matrix[np.arange(len(labels)), codes] = 1.0
    return [str(level) for level in levels], matrix


def fit_crossed_lmm(data: pd.DataFrame, conditions: list[str], reference: str):
    """REML fit of value ~ condition with crossed random intercepts for participant and question.

    Returns the statsmodels result, the names of its fixed effects and the warnings the fit raised (as text).
    """
    exog = sm.add_constant(condition_columns(data["condition"], conditions, reference))
    participant_names, participants = _indicators(data["participant_id"])
    question_names, questions = _indicators(data["question_id"])
    components = VCSpec(
        ["participant", "question"], [[participant_names], [question_names]], [[participants], [questions]]
    )
    model = MixedLM(data["value"].astype(float), exog, groups=np.zeros(len(data)), exog_vc=components)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = model.fit(reml=True)
    notes = sorted({str(w.message).splitlines()[0] for w in caught})
    return result, list(exog.columns), notes


def mixed_models(
    long: pd.DataFrame, conditions: list[str], reference: str, *, alpha: float
) -> MixedModelResults:
    fixed, pair_tables, variance = [], [], []
    for outcome, data in long.groupby("outcome", observed=True, sort=True):
        data = data.reset_index(drop=True)
        result, names, notes = fit_crossed_lmm(data, conditions, reference)
        ci = result.conf_int(alpha).iloc[: len(names)]
        fixed.append(
            pd.DataFrame(
                {
                    "outcome": outcome,
                    "term": [f"intercept ({reference})" if n == "const" else n for n in names],
                    "estimate": result.fe_params.to_numpy(),
                    "se": result.bse_fe.to_numpy(),
                    "z": (result.fe_params / result.bse_fe).to_numpy(),
                    "p": result.pvalues.iloc[: len(names)].to_numpy(),
                    "ci_low": ci[0].to_numpy(),
                    "ci_high": ci[1].to_numpy(),
                }
            )
        )
        table = pairwise_contrasts(result, names, conditions, reference, alpha=alpha)
        table.insert(0, "outcome", outcome)
        table["converged"] = bool(result.converged)
        table["statement"] = [_lmm_statement(row, alpha) for row in table.itertuples()]
        pair_tables.append(table)
        participant_var, question_var = (float(v) for v in result.vcomp)
        total = participant_var + question_var + result.scale
        variance.append(
            {
                "outcome": outcome,
                "participant_var": participant_var,
                "question_var": question_var,
                "residual_var": float(result.scale),
                "participant_share": participant_var / total,
                "question_share": question_var / total,
                "n": int(result.nobs),
                "converged": bool(result.converged),
                "notes": "; ".join(notes),
            }
        )
    return MixedModelResults(
        fixed_effects=pd.concat(fixed, ignore_index=True),
        pairs=pd.concat(pair_tables, ignore_index=True),
        variance=pd.DataFrame(variance),
    )


def _lmm_statement(row, alpha: float) -> str:
    if row.difference >= 0:
        higher, lower, diff, low, high = (
            row.condition_a,
            row.condition_b,
            row.difference,
            row.ci_low,
            row.ci_high,
        )
    else:
        higher, lower, diff, low, high = (
            row.condition_b,
            row.condition_a,
            -row.difference,
            -row.ci_high,
            -row.ci_low,
        )
    where = outcome_phrase(row.outcome)
    if not row.converged:
        return (
            f"Mixed model: no conclusion on {row.condition_a} vs {row.condition_b} {where}, "
            f"the fit did not converge ({row.difference:+.2f} points, {p_text(row.p_holm, 'p_holm')})."
        )
    if row.p_holm < alpha:
        return (
            f"Mixed model: {higher} is rated {diff:.2f} points higher {where} than {lower} "
            f"(CI {low:.2f} to {high:.2f}, {p_text(row.p_holm, 'p_holm')})."
        )
    return (
        f"Mixed model: no significant difference between {row.condition_a} and {row.condition_b} {where} "
        f"({row.difference:+.2f} points, {p_text(row.p_holm, 'p_holm')})."
    )


def ordinal_check(long: pd.DataFrame, conditions: list[str], reference: str, *, alpha: float) -> pd.DataFrame:
    """Per scale and pair: the linear and the proportional-odds contrast, and whether the conclusion changes.

    `ordinal_log_odds` is the log cumulative odds ratio of rating higher in condition_a than in condition_b.
    """
    tables = []
    for outcome, data in long[long["outcome"] != QUALITY].groupby("outcome", observed=True, sort=True):
        data = data.reset_index(drop=True)
        exog = condition_columns(data["condition"], conditions, reference)
        clusters = {"groups": pd.factorize(data["participant_id"])[0]}
        linear = sm.OLS(data["value"].astype(float), sm.add_constant(exog)).fit(
            cov_type="cluster", cov_kwds=clusters
        )
        levels = np.unique(data["value"], return_inverse=True)[1]
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            ordinal = OrderedModel(levels, exog, distr="logit").fit(
                method="bfgs", disp=False, cov_type="cluster", cov_kwds=clusters, maxiter=200
            )
        lin = pairwise_contrasts(linear, list(linear.params.index), conditions, reference, alpha=alpha)
        ordl = pairwise_contrasts(ordinal, list(ordinal.params.index), conditions, reference, alpha=alpha)
        table = pd.DataFrame(
            {
                "outcome": outcome,
                "condition_a": lin["condition_a"],
                "condition_b": lin["condition_b"],
                "linear_difference": lin["difference"],
                "linear_p_holm": lin["p_holm"],
                "ordinal_log_odds": ordl["difference"],
                "ordinal_p_holm": ordl["p_holm"],
                "ordinal_converged": bool(ordinal.mle_retvals.get("converged", True)),
                "ordinal_notes": "; ".join(sorted({str(w.message).splitlines()[0] for w in caught})),
            }
        )
        linear_sig = table["linear_p_holm"] < alpha
        ordinal_sig = table["ordinal_p_holm"] < alpha
        opposite = np.sign(table["linear_difference"]) != np.sign(table["ordinal_log_odds"])
        table["conclusion_changes"] = table["ordinal_converged"] & (
            (linear_sig != ordinal_sig) | (linear_sig & ordinal_sig & opposite)
        )
        table["statement"] = [_ordinal_statement(row, alpha) for row in table.itertuples()]
        tables.append(table)
    return pd.concat(tables, ignore_index=True)


def _ordinal_statement(row, alpha: float) -> str:
    if not row.conclusion_changes:
        return ""
    pair = f"{row.condition_a} vs {row.condition_b} {outcome_phrase(row.outcome)}"
    lin = f"{p_text(row.linear_p_holm, 'p_holm')}, {row.linear_difference:+.2f} points"
    ordl = f"{p_text(row.ordinal_p_holm, 'p_holm')}, log-odds {row.ordinal_log_odds:+.2f}"
    if row.ordinal_p_holm < alpha and row.linear_p_holm < alpha:
        return (
            f"Ordinal view reverses the direction of {pair}: as numbers {lin}; as ordered categories {ordl}."
        )
    if row.ordinal_p_holm < alpha:
        return f"Ordinal view finds a difference the linear view misses: {pair} (ordered categories {ordl}; as numbers {lin})."
    return f"Ordinal view loses a difference the linear view finds: {pair} (as numbers {lin}; ordered categories {ordl})."
