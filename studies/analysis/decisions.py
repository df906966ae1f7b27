"""Decision studies: do people rely on a model's advice appropriately, and does an explanation change that?

Input: a decisions export (`decisions_format.DECISION_COLUMNS`, one row per participant and item), as text
from a CSV or typed (as `decision_simulation.simulate_decisions` gives it). Measures, after Schemmer et al. (IUI
2023), per participant x condition and pooled per condition:

- initial and final accuracy; switch rate (final answer differs from the first);
- RAIR, relative AI reliance: of the items where the first answer was wrong and the advice right, the share whose
  final answer is the advice;
- RSR, relative self-reliance: of the items where the first answer was right and the advice wrong, the share whose
  final answer is the first one;
- over-reliance: of the items with wrong advice, the share whose final answer is the advice; under-reliance: of
  the items with right advice, the share whose final answer is not the advice;
- the change in confidence (final minus first, where both were given) and the seconds on each step.

In a control condition (no advice shown) the "advice" is the answer the model would have given: its RAIR and RSR
are the baseline of changing to (or away from) that answer without seeing it.

Inference: RAIR and RSR per condition with participant-cluster percentile bootstrap intervals; pairs of
conditions compared by a within-participant permutation test (condition labels shuffled among each participant's
eligible items: exact under the null of no condition effect, whatever the participant and item effects), Holm-
corrected; and a mixed-effects logistic regression of final correctness on condition x advice-correct with
crossed random intercepts for participant and question (`fit_mixed_logit`).
"""

from __future__ import annotations

import math
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd
from scipy import sparse

from .decisions_format import ADVICE_KINDS
from .design import ALPHA, SEED, holm, pairs
from .exclusions import ANALYSED_STATUSES
from .inputs import PARTICIPANT_STATUSES, _Checker
from .sample_size import MIN_CONDITIONS, MIN_PARTICIPANTS, MIN_PARTICIPANTS_FOR_MIXED_MODELS, SampleSize

N_BOOTSTRAP = 2000
N_PERMUTATIONS = 2000

REQUIRED_DECISION_COLUMNS = (
    "participant_id",
    "condition",
    "advice",
    "question_id",
    "advice_answer",
    "advice_correct",
    "initial_answer",
    "final_answer",
    "gold_answer",
)
OPTIONAL_NUMBERS = ("initial_confidence", "final_confidence", "seconds_initial", "seconds_final")
_TRUE, _FALSE = ("true", "1", "yes"), ("false", "0", "no")

METHOD_NOTES = [
    "Measures after Schemmer et al. (IUI 2023). RAIR: of the items where the first answer was wrong and the advice "
    "right, the share whose final answer is the advice. RSR: of the items where the first answer was right and the "
    "advice wrong, the share whose final answer is still the first one. Over-reliance: of the items with wrong "
    "advice, the share whose final answer is the advice; under-reliance: of the items with right advice, the share "
    "whose final answer is not. Per condition they are pooled over items (a ratio of counts).",
    "In a control condition nothing is shown; its 'advice' is the answer the model would have given, so its RAIR "
    "and RSR are the baseline rates of ending on (or leaving for) that answer without seeing it.",
    "Intervals: 95% percentile bootstrap over participants (the same resampled participants for every condition, "
    f"{N_BOOTSTRAP:,} resamples). Pairs of conditions: a permutation test that shuffles the condition labels among "
    f"each participant's eligible items ({N_PERMUTATIONS:,} permutations), exact under the null whatever the "
    "participant and item effects; p-values Holm-corrected over the pairs of one measure.",
    "Mixed model: logistic regression of final correctness on condition x advice-correct with crossed random "
    "intercepts for participant and question, fitted as statsmodels' BinomialBayesMixedGLM by variational Bayes "
    "(fit_vb). Why: statsmodels has no maximum-likelihood logistic GLMM with crossed random effects (MixedLM is "
    "linear only; lme4 would need R), and the variational fit takes seconds where MCMC would take minutes. It "
    "reports posterior means and SDs of the fixed effects under vague normal priors (SD 2 on the log-odds scale "
    "for the fixed effects, the package's default for the variance components); intervals are mean ± 1.96 SD. "
    "Mean-field variational Bayes tends to understate posterior SDs a little, so read borderline intervals with care.",
    "Reading the model: with the control condition as reference, advice_correct is how much the would-be advice's "
    "correctness goes with a right final answer when nothing is shown (the questions a model gets right tend to be "
    "easier); each 'condition x advice_correct' term is how much more it matters once that advice is shown, the "
    "model's summary of reliance.",
]


@dataclass(frozen=True)
class DecisionAnalysis:
    analysed: pd.DataFrame  # the rows analysed, typed
    exclusions: pd.DataFrame
    measures: pd.DataFrame  # per participant x condition
    conditions: pd.DataFrame  # per condition, with bootstrap intervals
    pairwise: pd.DataFrame  # per measure x pair of conditions
    mixed: pd.DataFrame  # fixed effects of the mixed logit
    mixed_variance: pd.DataFrame
    reference: str
    two_step: bool
    summary: dict[str, list[str]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def tables(self) -> dict[str, pd.DataFrame]:
        return {
            "decision_exclusions": self.exclusions,
            "decision_measures_per_participant": self.measures,
            "decision_conditions": self.conditions,
            "decision_pairwise": self.pairwise,
            "decision_mixed_fixed_effects": self.mixed,
            "decision_mixed_variance_components": self.mixed_variance,
        }


def is_decisions_table(columns: Collection[str]) -> bool:
    """Whether a table's columns are a decisions export's (rather than a ratings export's)."""
    return {"final_answer", "advice_answer", "advice"} <= set(columns)


# --- reading ---


def _bools(values: pd.Series) -> pd.Series:
    if values.dtype == bool:
        return values
    text = values.astype(str).str.strip().str.lower()
    return text.isin(_TRUE)


def validate_decisions(frame: pd.DataFrame) -> pd.DataFrame:
    """The decisions table, typed; an `InputError` lists every problem (with line numbers for a CSV)."""
    check = _Checker(frame, "decisions table")
    missing = [c for c in REQUIRED_DECISION_COLUMNS if c not in frame.columns]
    if missing:
        check.add(f"missing column(s): {', '.join(missing)}")
        check.raise_if_any()
    if frame.empty:
        check.add("no rows")
        check.raise_if_any()
    data = frame.reset_index(drop=True).copy()
    for column in ("participant_id", "condition", "question_id", "advice", "gold_answer", "advice_answer"):
        data[column] = data[column].astype(str).str.strip()
        check.flag(data[column] == "", data[column], f"empty {column}")
    check.flag(
        ~data["advice"].isin(ADVICE_KINDS), data["advice"], f"advice is not one of {', '.join(ADVICE_KINDS)}"
    )
    for column in ("initial_answer", "final_answer"):
        data[column] = data[column].fillna("").astype(str).str.strip()
    flags = data["advice_correct"]
    if flags.dtype != bool:
        text = flags.astype(str).str.strip().str.lower()
        check.flag(~text.isin(_TRUE + _FALSE), flags, "advice_correct is not true/false")
    data["advice_correct"] = _bools(flags)
    agrees = data["advice_correct"] == (data["advice_answer"] == data["gold_answer"])
    check.flag(~agrees, data["advice_answer"], "advice_correct disagrees with advice_answer and gold_answer")
    for column in OPTIONAL_NUMBERS:
        if column not in data.columns:
            data[column] = np.nan
            continue
        raw = data[column]
        text = raw.astype(object).where(raw.notna(), "").astype(str).str.strip()
        blank = text.str.lower().isin(["", "nan", "none"])
        numbers = pd.to_numeric(text.where(~blank, "nan"), errors="coerce")
        check.flag(numbers.isna() & ~blank, raw, f"{column} is not a number")
        data[column] = numbers
    for column in ("initial_confidence", "final_confidence"):
        off = data[column].notna() & ~data[column].between(1, 5)
        check.flag(off, data[column], f"{column} is outside 1-5")
    if "participant_status" in data.columns:
        data["participant_status"] = data["participant_status"].astype(str).str.strip()
        check.flag(
            ~data["participant_status"].isin(PARTICIPANT_STATUSES),
            data["participant_status"],
            "unknown participant_status",
        )
    else:
        data["participant_status"] = "completed"
    data["test_response"] = _bools(data["test_response"]) if "test_response" in data.columns else False
    duplicated = data.duplicated(["participant_id", "question_id"], keep=False)
    if duplicated.any():
        check.flag_positions(list(np.flatnonzero(duplicated)), "a participant answers one question twice")
    check.raise_if_any()
    return data


# --- measures ---


def with_outcomes(data: pd.DataFrame) -> pd.DataFrame:
    d = data.copy()
    d["two_step"] = d["initial_answer"] != ""
    d["initial_correct"] = np.where(d["two_step"], d["initial_answer"] == d["gold_answer"], np.nan)
    d["final_correct"] = (d["final_answer"] == d["gold_answer"]).astype(float)
    d["followed"] = (d["final_answer"] == d["advice_answer"]).astype(float)
    d["switched"] = np.where(d["two_step"], d["final_answer"] != d["initial_answer"], np.nan)
    first_wrong = d["two_step"] & (d["initial_answer"] != d["gold_answer"])
    first_right = d["two_step"] & (d["initial_answer"] == d["gold_answer"])
    d["rair_eligible"] = first_wrong & d["advice_correct"]
    d["rsr_eligible"] = first_right & ~d["advice_correct"]
    d["rair_hit"] = d["rair_eligible"] & (d["final_answer"] == d["advice_answer"])
    d["rsr_hit"] = d["rsr_eligible"] & (d["final_answer"] == d["initial_answer"])
    d["over"] = np.where(~d["advice_correct"], d["followed"], np.nan)
    d["under"] = np.where(d["advice_correct"], 1 - d["followed"], np.nan)
    d["confidence_change"] = d["final_confidence"] - d["initial_confidence"]
    return d


def _ratio(hits: float, n: float) -> float:
    return hits / n if n else math.nan


def _flag(values: pd.Series) -> np.ndarray:
    return values.fillna(0).to_numpy(dtype=float)


# Pooled ratio measures: (numerator, denominator) per item; a measure is the sum of one over the sum of the other.
RATIOS = {
    "initial_accuracy": lambda d: (_flag(d["initial_correct"]), _flag(d["two_step"])),
    "final_accuracy": lambda d: (_flag(d["final_correct"]), np.ones(len(d))),
    "switch_rate": lambda d: (_flag(d["switched"]), _flag(d["two_step"])),
    "rair": lambda d: (_flag(d["rair_hit"]), _flag(d["rair_eligible"])),
    "rsr": lambda d: (_flag(d["rsr_hit"]), _flag(d["rsr_eligible"])),
    "over_reliance": lambda d: (_flag(d["over"]), _flag(~d["advice_correct"])),
    "under_reliance": lambda d: (_flag(d["under"]), _flag(d["advice_correct"])),
}


def cell_sums(d: pd.DataFrame) -> pd.DataFrame:
    """Per participant x condition: numerator and denominator of every pooled measure, and the means."""
    columns = {"participant_id": d["participant_id"], "condition": d["condition"], "items": np.ones(len(d))}
    for measure, parts in RATIOS.items():
        columns[f"{measure}_num"], columns[f"{measure}_den"] = parts(d)
    means = ("confidence_change", "seconds_initial", "seconds_final")
    for name in means:
        columns[f"{name}_sum"] = d[name].fillna(0).to_numpy(dtype=float)
        columns[f"{name}_n"] = d[name].notna().to_numpy(dtype=float)
    return pd.DataFrame(columns).groupby(["participant_id", "condition"], sort=True).sum()


def participant_measures(cells: pd.DataFrame) -> pd.DataFrame:
    """One row per participant x condition: every measure, with the number of items behind RAIR and RSR."""
    out = pd.DataFrame(index=cells.index)
    out["items"] = cells["items"].astype(int)
    with np.errstate(invalid="ignore", divide="ignore"):
        for measure in RATIOS:
            out[measure] = cells[f"{measure}_num"] / cells[f"{measure}_den"].replace(0, np.nan)
            if measure in ("rair", "rsr"):
                out[f"{measure}_n"] = cells[f"{measure}_den"].astype(int)
        for name in ("confidence_change", "seconds_initial", "seconds_final"):
            out[name] = cells[f"{name}_sum"] / cells[f"{name}_n"].replace(0, np.nan)
    return out.reset_index()


def _counts(full: pd.DataFrame, measure: str, shape: tuple[int, int]):
    """(numerators, denominators), each participants x conditions, of a pooled measure (`full`: every cell)."""
    return full[f"{measure}_num"].to_numpy().reshape(shape), full[f"{measure}_den"].to_numpy().reshape(shape)


def bootstrap_weights(n_participants: int, n_resamples: int, rng: np.random.Generator) -> np.ndarray:
    """How often each participant is drawn in each resample (resamples x participants)."""
    draws = rng.integers(0, n_participants, size=(n_resamples, n_participants))
    weights = np.zeros((n_resamples, n_participants))
    np.add.at(weights, (np.arange(n_resamples)[:, None], draws), 1.0)
    return weights


def permutation_p(
    participant: np.ndarray, in_a: np.ndarray, hit: np.ndarray, n_permutations: int, rng: np.random.Generator
) -> tuple[float, float]:
    """(observed difference, two-sided p) of the pooled rate in condition A minus B over the eligible items given.

    `participant` (codes), `in_a` (True for A, False for B) and `hit` describe the items of the two conditions;
    the labels are shuffled within each participant, which keeps each participant's share of A and B items.
    """
    order = np.argsort(participant, kind="stable")
    participant, in_a, hit = participant[order], in_a[order], hit[order].astype(float)
    n_a, n_b = in_a.sum(), (~in_a).sum()
    if n_a == 0 or n_b == 0:
        return math.nan, math.nan

    def difference(labels: np.ndarray) -> np.ndarray:
        a = (labels * hit).sum(axis=-1)
        return a / n_a - (hit.sum() - a) / n_b

    observed = float(difference(in_a.astype(float)))
    # A random key per item, offset by its participant's block: sorting permutes within blocks only.
    keys = rng.random((n_permutations, len(hit))) + participant[None, :] * 2.0
    shuffled = in_a.astype(float)[np.argsort(keys, axis=1)]
    null = difference(shuffled)
    extreme = np.sum(np.abs(null) >= abs(observed) - 1e-12)
    return observed, float((extreme + 1) / (n_permutations + 1))


# --- the mixed model ---


def fit_mixed_logit(
    d: pd.DataFrame, conditions: list[str], reference: str
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Final correctness ~ condition x advice_correct + (1 | participant) + (1 | question), variational Bayes."""
    from statsmodels.genmod.bayes_mixed_glm import BinomialBayesMixedGLM

    others = [c for c in conditions if c != reference]
    advice = d["advice_correct"].to_numpy(dtype=float)
    columns = {"intercept": np.ones(len(d)), "advice_correct": advice}
    for c in others:
        is_c = (d["condition"] == c).to_numpy(dtype=float)
        columns[c] = is_c
        columns[f"{c} x advice_correct"] = is_c * advice
    exog = pd.DataFrame(columns)
    exog = exog.loc[:, exog.std(ddof=0).gt(0) | (exog.columns == "intercept")]
    participant_codes, _ = pd.factorize(d["participant_id"])
    question_codes, _ = pd.factorize(d["question_id"])
    n_p, n_q = participant_codes.max() + 1, question_codes.max() + 1
    rows = np.arange(len(d))
    exog_vc = sparse.csr_matrix(
        (
            np.ones(2 * len(d)),
            (np.concatenate([rows, rows]), np.concatenate([participant_codes, n_p + question_codes])),
        ),
        shape=(len(d), n_p + n_q),
    )
    ident = np.concatenate([np.zeros(n_p, dtype=int), np.ones(n_q, dtype=int)])
    model = BinomialBayesMixedGLM(
        d["final_correct"].to_numpy(dtype=float), exog.to_numpy(), exog_vc, ident, vcp_p=1.0, fe_p=2.0
    )
    model.exog_names[:] = list(exog.columns)
    result = model.fit_vb()
    mean, sd = result.fe_mean, result.fe_sd
    fixed = pd.DataFrame(
        {
            "term": list(exog.columns),
            "posterior_mean": mean,
            "posterior_sd": sd,
            "ci_low": mean - 1.96 * sd,
            "ci_high": mean + 1.96 * sd,
            "odds_ratio": np.exp(mean),
        }
    )
    fixed["excludes_zero"] = (fixed["ci_low"] > 0) | (fixed["ci_high"] < 0)
    variance = pd.DataFrame(
        {
            "component": ["participant", "question"],
            "sd_posterior_mean": np.exp(result.vcp_mean),
            "log_sd_posterior_sd": result.vcp_sd,
        }
    )
    return fixed, variance


# --- the analysis ---


def analyze_decisions(
    decisions: pd.DataFrame,
    *,
    reference: str | None = None,
    include_test_responses: bool = False,
    include_statuses: Collection[str] = ANALYSED_STATUSES,
    alpha: float = ALPHA,
    n_bootstrap: int = N_BOOTSTRAP,
    n_permutations: int = N_PERMUTATIONS,
    seed: int = SEED,
    mixed_model: bool = True,
) -> DecisionAnalysis:
    """Every measure, interval, test and the mixed model of a decisions table (see the module's docstring)."""
    data = validate_decisions(decisions)
    kept, exclusions = _exclude(data, include_test_responses, include_statuses)
    if kept.empty:
        raise ValueError(
            "no decisions left to analyse after the exclusions: " + "; ".join(exclusions["reason"])
        )
    d = with_outcomes(kept)
    conditions = _condition_order(d)
    reference = reference or conditions[0]
    if reference not in conditions:
        raise ValueError(f"reference condition {reference!r} is not among {', '.join(conditions)}")
    participants = sorted(d["participant_id"].unique())
    two_step = bool(d["two_step"].all())
    rng = np.random.default_rng(seed)
    weights = bootstrap_weights(len(participants), n_bootstrap, rng)
    advice_of = d.groupby("condition")["advice"].first()

    table = []
    draws: dict[str, np.ndarray] = {}
    cells = cell_sums(d)
    full = cells.reindex(pd.MultiIndex.from_product([participants, conditions]), fill_value=0.0)
    for measure in RATIOS:
        if not two_step and measure in ("initial_accuracy", "switch_rate", "rair", "rsr"):
            continue
        num, den = _counts(full, measure, (len(participants), len(conditions)))
        with np.errstate(invalid="ignore", divide="ignore"):
            draws[measure] = (weights @ num) / (weights @ den)
        for j, condition in enumerate(conditions):
            total = den[:, j].sum()
            values = draws[measure][:, j]
            low, high = np.nanpercentile(values, [2.5, 97.5]) if np.isfinite(values).any() else (np.nan,) * 2
            table.append(
                {
                    "measure": measure,
                    "condition": condition,
                    "advice": advice_of[condition],
                    "estimate": _ratio(num[:, j].sum(), total),
                    "ci_low": low,
                    "ci_high": high,
                    "items": int(total),
                    "participants": int((den[:, j] > 0).sum()),
                }
            )
    for measure in ("confidence_change", "seconds_initial", "seconds_final"):
        for condition in conditions:
            values = d.loc[d["condition"] == condition, measure].dropna()
            if len(values):
                table.append(
                    {
                        "measure": measure,
                        "condition": condition,
                        "advice": advice_of[condition],
                        "estimate": values.mean(),
                        "ci_low": math.nan,
                        "ci_high": math.nan,
                        "items": len(values),
                        "participants": int(d.loc[values.index, "participant_id"].nunique()),
                    }
                )
    per_condition = pd.DataFrame(table)

    pairwise = _pairwise(d, conditions, alpha, n_permutations, rng, two_step)
    fixed = variance = pd.DataFrame()
    notes = []
    if mixed_model:
        if d["participant_id"].nunique() < 2 or d["question_id"].nunique() < 2:
            notes.append("The mixed model needs two or more participants and questions; it was not fitted.")
        else:
            fixed, variance = fit_mixed_logit(d, conditions, reference)
    analysis = DecisionAnalysis(
        analysed=d,
        exclusions=exclusions,
        measures=participant_measures(cells),
        conditions=per_condition,
        pairwise=pairwise,
        mixed=fixed,
        mixed_variance=variance,
        reference=reference,
        two_step=two_step,
        notes=notes,
    )
    return _with_summary(analysis, alpha)


def assess_decisions(
    decisions: pd.DataFrame,
    *,
    include_test_responses: bool = False,
    include_statuses: Collection[str] = ANALYSED_STATUSES,
    conditions: list[str] | None = None,
) -> SampleSize:
    """What the decisions allow after the exclusions (quick: nothing is fitted), as `assess_ratings` for ratings."""
    names = list(conditions or [])
    if decisions.empty:
        return SampleSize(0, 0, dict.fromkeys(names, 0), blocking=["there are no decisions yet"], warnings=[])
    kept, _ = _exclude(validate_decisions(decisions), include_test_responses, include_statuses)
    per_condition = kept.groupby("condition").size()
    counts = {name: int(per_condition.get(name, 0)) for name in names or sorted(per_condition.index)}
    participants = kept["participant_id"].nunique()
    blocking, warnings = [], []
    if kept.empty:
        blocking.append("no decisions are left to analyse")
    elif sum(1 for n in counts.values() if n) < MIN_CONDITIONS:
        blocking.append("decisions in fewer than two conditions; comparing needs two or more")
    elif participants < MIN_PARTICIPANTS:
        blocking.append(
            f"decisions from {participants} participant; comparing needs two or more participants"
        )
    elif participants < MIN_PARTICIPANTS_FOR_MIXED_MODELS:
        warnings.append(
            f"Too few participants ({participants}) for the mixed model and the bootstrap intervals to mean much: "
            f"they need at least {MIN_PARTICIPANTS_FOR_MIXED_MODELS}."
        )
    return SampleSize(len(kept), participants, counts, blocking=blocking, warnings=warnings)


def _exclude(data: pd.DataFrame, include_test_responses: bool, include_statuses: Collection[str]):
    steps = []
    kept = data
    if not include_test_responses:
        test = kept["test_response"]
        steps.append(("test responses", int(test.sum()), kept.loc[test, "participant_id"].nunique()))
        kept = kept[~test]
    status = ~kept["participant_status"].isin(include_statuses)
    steps.append(
        (
            f"participants not {' or '.join(include_statuses)}",
            int(status.sum()),
            kept.loc[status, "participant_id"].nunique(),
        )
    )
    kept = kept[~status]
    unanswered = kept["final_answer"] == ""
    steps.append(
        ("no final answer yet", int(unanswered.sum()), kept.loc[unanswered, "participant_id"].nunique())
    )
    kept = kept[~unanswered]
    table = pd.DataFrame(steps, columns=["reason", "decisions_excluded", "participants_affected"])
    return kept.reset_index(drop=True), table


def _condition_order(d: pd.DataFrame) -> list[str]:
    """Control conditions first, then answer only, then answer and explanation; by name within each."""
    rank = {kind: i for i, kind in enumerate(ADVICE_KINDS)}
    advice = d.groupby("condition")["advice"].first()
    return sorted(advice.index, key=lambda c: (rank[advice[c]], c))


# The items each pairwise measure is computed over (None: all) and what counts as a hit.
COMPARED = {
    "rair": ("rair_eligible", "rair_hit"),
    "rsr": ("rsr_eligible", "rsr_hit"),
    "final_accuracy": (None, "final_correct"),
}


def compare(d: pd.DataFrame, measure: str, a: str, b: str, n_permutations: int, rng: np.random.Generator):
    """(difference a - b, permutation p, items compared) of a pooled measure (`COMPARED`) between two conditions.

    `d`: decisions with their outcomes (as `analyze_decisions` derives them).
    """
    eligible, hit = COMPARED[measure]
    rows = d[d["condition"].isin([a, b]) & (d[eligible] if eligible else True)]
    codes, _ = pd.factorize(rows["participant_id"])
    observed, p = permutation_p(
        codes, (rows["condition"] == a).to_numpy(), rows[hit].to_numpy(dtype=float), n_permutations, rng
    )
    return observed, p, len(rows)


def _pairwise(d, conditions, alpha, n_permutations, rng, two_step) -> pd.DataFrame:
    rows = []
    for measure in COMPARED:
        if not two_step and measure != "final_accuracy":
            continue
        found = []
        for a, b in pairs(conditions):
            observed, p, items = compare(d, measure, a, b, n_permutations, rng)
            found.append({"measure": measure, "a": a, "b": b, "difference": observed, "p": p, "items": items})
        p_values = np.array([f["p"] for f in found])
        finite = np.isfinite(p_values)
        adjusted = np.full(len(found), np.nan)
        if finite.any():
            adjusted[finite] = holm(p_values[finite])
        for f, p_holm in zip(found, adjusted, strict=True):
            f["p_holm"] = p_holm
            f["significant"] = bool(p_holm < alpha) if np.isfinite(p_holm) else False
            rows.append(f)
    return pd.DataFrame(
        rows, columns=["measure", "a", "b", "difference", "p", "p_holm", "significant", "items"]
    )


NAMES = {
    "initial_accuracy": "initial accuracy",
    "final_accuracy": "final accuracy",
    "switch_rate": "switch rate",
    "rair": "RAIR",
    "rsr": "RSR",
    "over_reliance": "over-reliance",
    "under_reliance": "under-reliance",
    "confidence_change": "confidence change",
}


def _with_summary(analysis: DecisionAnalysis, alpha: float) -> DecisionAnalysis:
    d, table = analysis.analysed, analysis.conditions
    lines = [
        f"{d['participant_id'].nunique()} participants, {len(d)} decisions, {d['question_id'].nunique()} questions, "
        f"{d['condition'].nunique()} conditions ({'two-step' if analysis.two_step else 'one-step'} protocol)."
    ]
    for condition in table["condition"].drop_duplicates():
        rows = table[table["condition"] == condition].set_index("measure")
        parts = []
        for measure in ("initial_accuracy", "final_accuracy", "rair", "rsr"):
            if measure in rows.index:
                r = rows.loc[measure]
                parts.append(f"{NAMES[measure]} {r['estimate']:.2f} [{r['ci_low']:.2f}, {r['ci_high']:.2f}]")
        lines.append(f"{condition}: " + ", ".join(parts) + ".")
    tests = []
    for r in analysis.pairwise.itertuples():
        if r.significant:
            direction = "higher" if r.difference > 0 else "lower"
            tests.append(
                f"{NAMES[r.measure]} is {direction} in {r.a} than in {r.b} by {abs(r.difference):.2f} "
                f"(permutation test, p_holm = {_p(r.p_holm)})."
            )
    if not tests:
        tests.append(f"No pair of conditions differs in RAIR, RSR or final accuracy at alpha = {alpha}.")
    mixed = []
    for r in analysis.mixed.itertuples() if len(analysis.mixed) else ():
        if r.term != "intercept" and r.excludes_zero:
            mixed.append(
                f"{r.term}: log-odds {r.posterior_mean:+.2f} (95% interval {r.ci_low:+.2f} to {r.ci_high:+.2f}), "
                f"odds ratio {r.odds_ratio:.2f}."
            )
    if len(analysis.mixed) and not mixed:
        mixed.append("No fixed effect's 95% interval excludes zero.")
    summary = {"Decisions per condition": lines, "Reliance: pairs of conditions": tests}
    if mixed or analysis.notes:
        summary[f"Mixed logit of final correctness (reference {analysis.reference})"] = mixed + analysis.notes
    return replace(analysis, summary=summary)


def _p(p: float) -> str:
    return "<0.001" if p < 0.001 else f"{p:.3f}"


def measure_table(analysis: DecisionAnalysis, measures: Sequence[str]) -> pd.DataFrame:
    """Estimates and intervals of some measures, one row per condition and measure."""
    return analysis.conditions[analysis.conditions["measure"].isin(measures)]
