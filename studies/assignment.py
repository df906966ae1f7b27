"""How a participant's sequence is built: counterbalanced condition order, least-rated items first.

Pure functions over ids and counts; `participation.start_items` feeds them from the database under a lock.
"""

import random
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment

# Taking an explanation one assignment further ahead of its condition's least-assigned ones costs this
# many times more: the solver first minimises how many picks are ahead, then how far.
BEHIND_WEIGHT = 1000.0


def balanced_latin_square(n: int) -> list[list[int]]:
    """Rows of a Williams design over n conditions.

    Each condition takes each place once per square and, for even n, directly follows every other condition
    exactly once. For odd n that needs two squares, so the second is the first one reversed (2n rows).
    """
    if n < 1:
        raise ValueError("a Latin square needs at least one condition")
    first = [0 if i == 0 else (i + 1) // 2 if i % 2 else n - i // 2 for i in range(n)]
    rows = [[(c + shift) % n for c in first] for shift in range(n)]
    if n % 2:
        rows += [row[::-1] for row in rows]
    return rows


def least_used_row(row_counts: Mapping[int, int], n_rows: int) -> int:
    """The Latin square row given to the fewest counted participants (lowest index on ties)."""
    return min(range(n_rows), key=lambda row: (row_counts.get(row, 0), row))


@dataclass(frozen=True)
class Candidate:
    explanation_id: int
    condition_id: int
    question_id: int


def choose_explanations(
    candidates: Sequence[Candidate],
    loads: Mapping[int, int],
    per_condition: int,
    condition_ids: Sequence[int],
    rng: random.Random,
    *,
    wrong: Collection[int] = frozenset(),
    wrong_per_condition: int | None = None,
) -> dict[int, list[int]]:
    """Pick `per_condition` explanations in every condition, all of different questions.

    An optimal assignment of the participant's slots to questions (Hungarian method) that takes as many
    of each condition's least-assigned explanations as the one-question-once rule allows, then the
    questions least assigned overall, then at random. Greedy picking is not enough: a question that is
    behind in two conditions can fill only one of them per participant.

    With `wrong_per_condition` (decision studies), exactly that many of each condition's picks are explanations
    in `wrong` (the model's answer is wrong) and the rest are not; balancing then holds within each of the two.
    """
    by_cell = {(c.condition_id, c.question_id): c.explanation_id for c in candidates}
    questions = sorted({c.question_id for c in candidates})
    slots = [cid for cid in condition_ids for _ in range(per_condition)]
    if wrong_per_condition is not None and not 0 <= wrong_per_condition <= per_condition:
        raise ValueError(f"{wrong_per_condition} wrong-advice items per condition out of {per_condition}")
    # Which slots take wrong advice: the first `wrong_per_condition` of each condition (None: any explanation).
    slot_wrong = [
        None if wrong_per_condition is None else k < wrong_per_condition
        for _cid in condition_ids
        for k in range(per_condition)
    ]
    if len(questions) < len(slots):
        raise ValueError(
            f"not enough distinct questions: {len(slots)} slots ({per_condition} per condition) "
            f"but {len(questions)} questions"
        )
    question_loads = {q: 0 for q in questions}
    for (_, q), explanation_id in by_cell.items():
        question_loads[q] += loads.get(explanation_id, 0)
    least_question = min(question_loads.values())
    cost = np.full((len(slots), len(questions)), np.inf)
    for cid in set(condition_ids):
        for kind in {slot_wrong[row] for row, slot_cid in enumerate(slots) if slot_cid == cid}:
            cells = [
                (col, by_cell[(cid, q)])
                for col, q in enumerate(questions)
                if (cid, q) in by_cell and (kind is None or (by_cell[(cid, q)] in wrong) == kind)
            ]
            least = min((loads.get(e, 0) for _, e in cells), default=0)
            rows = [row for row, slot_cid in enumerate(slots) if slot_cid == cid and slot_wrong[row] == kind]
            for col, explanation_id in cells:
                excess = min(loads.get(explanation_id, 0) - least, 4)  # 0 = among the least assigned
                spread = question_loads[questions[col]] - least_question
                cost[rows, col] = BEHIND_WEIGHT**excess + spread / (1 + spread) + rng.random() * 1e-3
    try:
        rows, cols = linear_sum_assignment(cost)
    except ValueError:  # no finite assignment: some condition lacks explanations for enough questions
        raise ValueError(
            "not enough distinct questions that every condition explains for one participant's sequence"
            + (" with the wanted share of wrong advice" if wrong_per_condition is not None else "")
        ) from None
    picks: dict[int, list[int]] = {cid: [] for cid in condition_ids}
    for row, col in zip(rows, cols, strict=True):
        picks[slots[row]].append(by_cell[(slots[row], questions[col])])
    return picks


@dataclass(frozen=True)
class Slot:
    position: int
    explanation_id: int | None = None
    attention_check_id: int | None = None


def build_sequence(
    picks: Mapping[int, Sequence[int]],
    condition_order: Sequence[int],
    attention_checks: Mapping[int, int],
    rng: random.Random,
) -> list[Slot]:
    """Order the picks in rounds that follow the participant's Latin square row; put checks at their positions.

    Round r shows the r-th (shuffled) pick of each condition, in the row's condition order.
    `attention_checks` maps a 1-based position to an attention check id.
    """
    shuffled = {cid: rng.sample(list(ids), len(ids)) for cid, ids in picks.items()}
    rounds = max((len(ids) for ids in shuffled.values()), default=0)
    items = [shuffled[cid][r] for r in range(rounds) for cid in condition_order if r < len(shuffled[cid])]
    total = len(items) + len(attention_checks)
    beyond = sorted(pos for pos in attention_checks if not 1 <= pos <= total)
    if beyond:
        raise ValueError(f"attention check position(s) {beyond} lie outside the sequence of {total} pages")
    remaining = iter(items)
    return [
        Slot(position, attention_check_id=attention_checks[position])
        if position in attention_checks
        else Slot(position, explanation_id=next(remaining))
        for position in range(1, total + 1)
    ]
