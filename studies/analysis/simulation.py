"""Simulated studies: ratings that arise the way the analysis models them, for power, tests and pilots.

A participant rates `items_per_condition` items of every condition, each item a different question drawn at
random, so every question is seen in every condition across participants. The latent score of a rating is

    mean + effect[condition] + u[participant] + v[question] + w[participant, question] + e[rating],

with independent normal u, v, w (shared by the scales of one item) and e (one per scale), rounded to the nearest
scale point and clipped to the scale's range.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .inputs import DEFAULT_SCALE_RANGE, RATINGS_COLUMNS


@dataclass(frozen=True)
class RatingModel:
    """Standard deviations in scale points; replace them with a pilot's variance components when there is one."""

    mean: float = 3.5
    sd_participant: float = 0.5
    sd_question: float = 0.4
    sd_item: float = 0.6
    sd_rating: float = 0.6

    def total_sd(self, scales_averaged: int = 1) -> float:
        return float(
            np.sqrt(
                self.sd_participant**2
                + self.sd_question**2
                + self.sd_item**2
                + self.sd_rating**2 / scales_averaged
            )
        )


DEFAULT_RATING_MODEL = RatingModel()


@dataclass(frozen=True)
class PlannedDesign:
    conditions: int
    items_per_condition: int = 3
    scales: int = 5
    questions: int = 50
    scale_range: tuple[int, int] = DEFAULT_SCALE_RANGE

    def __post_init__(self):
        if self.conditions < 2:
            raise ValueError(f"a comparison needs two or more conditions, got {self.conditions}")
        if self.items_per_condition < 1 or self.scales < 1:
            raise ValueError("items_per_condition and scales must be at least 1")
        if self.questions < self.items_per_participant:
            raise ValueError(
                f"{self.questions} questions cannot give each participant {self.items_per_participant} different ones"
            )
        low, high = self.scale_range
        if high <= low:
            raise ValueError(f"scale_range {self.scale_range}: the high end must be above the low end")

    @property
    def items_per_participant(self) -> int:
        return self.conditions * self.items_per_condition


def assignment(
    design: PlannedDesign, n_participants: int, n_simulations: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """The condition (participants, items) and question (simulations, participants, items) of every item.

    Each participant gets a random set of different questions; item j is in condition j mod conditions, so every
    participant rates the same number of items of each condition and questions fall to conditions at random.
    """
    slots = np.arange(design.items_per_participant)
    condition = np.broadcast_to(slots % design.conditions, (n_participants, len(slots)))
    draws = rng.random((n_simulations, n_participants, design.questions))
    question = np.argsort(draws, axis=-1)[..., : len(slots)]
    return condition, question


def simulate_scores(
    design: PlannedDesign,
    model: RatingModel,
    effects: np.ndarray,
    n_participants: int,
    n_simulations: int,
    scales: int,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Ratings of shape (simulations, participants, items, scales), and the condition and question of each item.

    `effects` has one entry per condition (same on every scale) or shape (conditions, scales).
    """
    condition, question = assignment(design, n_participants, n_simulations, rng)
    effects = np.asarray(effects, dtype=float)
    effects = np.broadcast_to(effects[:, None] if effects.ndim == 1 else effects, (design.conditions, scales))
    shape = (n_simulations, n_participants, design.items_per_participant)
    u = rng.normal(0.0, model.sd_participant, (n_simulations, n_participants, 1))
    v = rng.normal(0.0, model.sd_question, (n_simulations, design.questions))
    w = rng.normal(0.0, model.sd_item, shape)
    e = rng.normal(0.0, model.sd_rating, (*shape, scales))
    v_item = np.take_along_axis(v[:, None, :], question, axis=2)
    latent = model.mean + effects[condition] + (u + v_item + w)[..., None] + e
    low, high = design.scale_range
    return np.clip(np.rint(latent), low, high), condition, question


def simulate_ratings(
    *,
    conditions: list[str],
    scales: list[str],
    n_participants: int,
    items_per_condition: int = 3,
    questions: int = 50,
    effects: Mapping[str, float | Mapping[str, float]] | None = None,
    model: RatingModel = DEFAULT_RATING_MODEL,
    scale_range: tuple[int, int] = DEFAULT_SCALE_RANGE,
    seed: int = 0,
    study_id: str = "simulated",
) -> pd.DataFrame:
    """A ratings table in the export's format, with every optional column, all participants completed.

    `effects` maps a condition to its shift in scale points, on every scale (a number) or per scale (a mapping);
    conditions left out have no shift. Explanation lengths are drawn independently of the ratings.
    """
    design = PlannedDesign(
        conditions=len(conditions),
        items_per_condition=items_per_condition,
        scales=len(scales),
        questions=questions,
        scale_range=scale_range,
    )
    shift = np.zeros((len(conditions), len(scales)))
    for i, name in enumerate(conditions):
        effect = (effects or {}).get(name, 0.0)
        shift[i] = [effect.get(s, 0.0) for s in scales] if isinstance(effect, Mapping) else effect
    rng = np.random.default_rng(seed)
    values, condition, question = simulate_scores(design, model, shift, n_participants, 1, len(scales), rng)
    n_items = design.items_per_participant
    positions = np.argsort(rng.random((n_participants, n_items)), axis=1) + 1
    question_chars = rng.integers(120, 420, size=(len(conditions), questions))
    participant = np.repeat(np.arange(n_participants), n_items * len(scales))
    item_condition = np.repeat(condition.ravel(), len(scales))
    item_question = np.repeat(question[0].ravel(), len(scales))
    frame = pd.DataFrame(
        {
            "study_id": study_id,
            "participant_id": [f"p{p:04d}" for p in participant],
            "condition": np.asarray(conditions)[item_condition],
            "question_id": [f"q{q:04d}" for q in item_question],
            "position": np.repeat(positions.ravel(), len(scales)),
            "scale": np.tile(scales, n_participants * n_items),
            "value": values[0].reshape(-1).astype(int),
            "seconds_on_item": np.repeat(
                np.round(rng.lognormal(3.0, 0.4, n_participants * n_items), 1), len(scales)
            ),
            "explanation_chars": question_chars[item_condition, item_question],
            "answer_correct": np.repeat(
                np.where(rng.random(n_participants * n_items) < 0.75, "true", "false"), len(scales)
            ),
            "dataset": "",
            "method": [c.partition("/")[0] for c in np.asarray(conditions)[item_condition]],
            "data_variant": [c.partition("/")[2] for c in np.asarray(conditions)[item_condition]],
            "training_run_id": "",
            "seed": "",
            "participant_status": "completed",
            "attention_check": "false",
            "test_response": "false",
            "rated_at": "",
        }
    )
    return frame[list(RATINGS_COLUMNS)]
