"""Inter-rater agreement: Krippendorff's alpha (ordinal) per scale.

A unit is one explanation shown to raters, i.e. a question in a condition; the raters are the participants.
"""

from __future__ import annotations

import krippendorff
import numpy as np
import pandas as pd

from .inputs import ScaleRange, scale_range_of

# Krippendorff (2004): alpha >= 0.800 for conclusions, >= 0.667 for tentative ones.
RELIABLE_ALPHA = 0.800
TENTATIVE_ALPHA = 0.667


def krippendorff_alpha(ratings: pd.DataFrame, scales: list[str], scale_range: ScaleRange) -> pd.DataFrame:
    rows = []
    for scale in scales:
        data = ratings[ratings["scale"] == scale]
        unit = data["condition"] + " | " + data["question_id"]
        matrix = data.assign(unit=unit).pivot_table(
            index="participant_id", columns="unit", values="value", aggfunc="first"
        )
        raters_per_unit = matrix.notna().sum(axis=0)
        shared_units = int((raters_per_unit >= 2).sum())
        low, high = scale_range_of(scale_range, scale)
        if shared_units == 0:
            alpha = float("nan")
            statement = (
                f"Agreement on {scale}: not computable, no explanation was rated by two or more participants."
            )
        else:
            alpha = krippendorff.alpha(
                reliability_data=matrix.to_numpy(dtype=float),
                value_domain=np.arange(low, high + 1),
                level_of_measurement="ordinal",
            )
            verdict = (
                "reliable"
                if alpha >= RELIABLE_ALPHA
                else "tentative"
                if alpha >= TENTATIVE_ALPHA
                else f"low: below {TENTATIVE_ALPHA}, the usual bar for tentative conclusions"
            )
            statement = (
                f"Agreement on {scale}: Krippendorff's alpha (ordinal) = {alpha:.3f} ({verdict}), "
                f"over {shared_units} explanations rated by two or more participants."
            )
        rows.append(
            {
                "scale": scale,
                "alpha_ordinal": alpha,
                "units_rated_twice_or_more": shared_units,
                "units": matrix.shape[1],
                "raters": matrix.shape[0],
                "mean_raters_per_unit": float(raters_per_unit.mean()),
                "statement": statement,
            }
        )
    return pd.DataFrame(rows)
