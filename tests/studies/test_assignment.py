"""Counterbalancing and balanced item choice, as pure functions (no database)."""

import random
from collections import Counter
from itertools import pairwise

import pytest

from studies.assignment import (
    Candidate,
    balanced_latin_square,
    build_sequence,
    choose_explanations,
    least_used_row,
)


@pytest.mark.parametrize("n", [2, 3, 4, 5, 6])
def test_latin_square_puts_every_condition_once_in_every_place_and_balances_what_follows_what(n):
    rows = balanced_latin_square(n)
    assert len(rows) == (n if n % 2 == 0 else 2 * n)
    for row in rows:
        assert sorted(row) == list(range(n))
    for place in range(n):
        assert Counter(row[place] for row in rows) == {c: len(rows) // n for c in range(n)}
    follows = Counter(pair for row in rows for pair in pairwise(row))
    assert set(follows.values()) == {len(rows) // n}  # every ordered pair equally often
    assert len(follows) == n * (n - 1)


def test_the_least_used_latin_square_row_goes_to_the_next_participant():
    assert least_used_row({}, 4) == 0
    assert least_used_row({0: 2, 1: 1, 2: 1, 3: 2}, 4) == 1


def candidates(n_conditions: int, n_questions: int) -> list[Candidate]:
    return [
        Candidate(explanation_id=c * 1000 + q, condition_id=c, question_id=q)
        for c in range(n_conditions)
        for q in range(n_questions)
    ]


def test_a_participant_gets_k_items_per_condition_all_of_different_questions():
    picks = choose_explanations(candidates(4, 12), {}, 3, [0, 1, 2, 3], random.Random(0))
    assert {c: len(ids) for c, ids in picks.items()} == {0: 3, 1: 3, 2: 3, 3: 3}
    questions = [e % 1000 for ids in picks.values() for e in ids]
    assert len(set(questions)) == 12


def test_least_rated_explanations_are_handed_out_first():
    loads = {c * 1000 + q: 5 for c in range(2) for q in range(10)}
    loads.update({0 * 1000 + 3: 1, 1 * 1000 + 7: 0})
    picks = choose_explanations(candidates(2, 10), loads, 1, [0, 1], random.Random(0))
    assert picks == {0: [3], 1: [1007]}


def test_too_few_questions_for_a_sequence_is_a_clear_error():
    with pytest.raises(ValueError, match="not enough distinct questions"):
        choose_explanations(candidates(4, 10), {}, 3, [0, 1, 2, 3], random.Random(0))


def test_ratings_stay_within_one_of_each_other_after_every_participant():
    """16 questions, 4 conditions × 3: each participant covers 12 of 16 questions, so conditions compete
    for the questions that are behind; the assignment still keeps every item within 1 of the others."""
    pool = candidates(4, 16)
    loads: Counter = Counter()
    rng = random.Random(1)
    for _ in range(50):
        for ids in choose_explanations(pool, loads, 3, [0, 1, 2, 3], rng).values():
            loads.update(ids)
        for condition in range(4):
            counts = [loads[condition * 1000 + q] for q in range(16)]
            assert max(counts) - min(counts) <= 1, counts


def test_sequence_follows_the_row_order_in_rounds_and_puts_checks_at_their_places():
    picks = {10: [1, 2], 20: [3, 4], 30: [5, 6]}
    slots = build_sequence(picks, [30, 10, 20], {3: 99}, random.Random(0))
    assert [s.position for s in slots] == list(range(1, 8))
    assert slots[2].attention_check_id == 99 and slots[2].explanation_id is None
    by_condition = {e: c for c, ids in picks.items() for e in ids}
    shown = [by_condition[s.explanation_id] for s in slots if s.explanation_id]
    assert shown == [30, 10, 20, 30, 10, 20]


def test_an_attention_check_beyond_the_sequence_is_refused():
    with pytest.raises(ValueError, match=r"position\(s\) \[9\]"):
        build_sequence({1: [1, 2]}, [1], {9: 5}, random.Random(0))
