"""Power by simulation: null designs reject at alpha, real effects need a plausible number of participants."""

import pytest

from studies.analysis import PlannedDesign, RatingModel, participants_for_power, simulated_power
from studies.analysis.power import a_for_difference, difference_for_a

from .conftest import INDEPENDENT

DESIGN = PlannedDesign(conditions=4, items_per_condition=3, scales=5, questions=40)


def test_null_design_rejects_at_the_nominal_rate():
    # 600 studies of independent ratings: Kruskal-Wallis should reject 5% (3 SD band of Binomial(600, 0.05)).
    rate = simulated_power(
        DESIGN, 30, difference=0.0, test="kruskal_wallis", model=INDEPENDENT, n_simulations=600
    )
    assert 0.023 <= rate <= 0.077, rate


def test_null_design_with_clustered_ratings_does_not_inflate_false_positives():
    # Participants rate every condition equally often, so their effects cancel and the test stays at or below alpha.
    for test in ("kruskal_wallis", "dunn"):
        rate = simulated_power(DESIGN, 30, difference=0.0, test=test, n_simulations=600)
        assert rate <= 0.077, (test, rate)


def test_power_grows_with_participants_and_effect():
    small = simulated_power(DESIGN, 20, difference=0.3, n_simulations=300)
    more_people = simulated_power(DESIGN, 80, difference=0.3, n_simulations=300)
    bigger_effect = simulated_power(DESIGN, 20, difference=0.8, n_simulations=300)
    assert small < more_people and small < bigger_effect
    assert bigger_effect > 0.75


def test_participants_for_power_reaches_the_target_at_the_smallest_count_found():
    result = participants_for_power(DESIGN, difference=0.4, n_simulations=300, seed=1)
    assert result.participants is not None and 20 < result.participants < 150
    curve = result.curve.set_index("participants")["power"]
    assert curve[result.participants] >= 0.8
    assert curve[result.participants - 1] < 0.8  # bisection ends next to a count below the target
    # An independent run with other random numbers agrees within simulation error.
    check = simulated_power(DESIGN, result.participants, difference=0.4, n_simulations=1000, seed=99)
    assert check == pytest.approx(0.8, abs=0.06)
    assert result.statement.startswith(f"{result.participants} participants give ")
    assert "0.40 points" in result.statement


def test_quality_over_more_scales_needs_fewer_participants():
    one_scale = participants_for_power(DESIGN, difference=0.4, outcome="scale", n_simulations=300)
    quality = participants_for_power(DESIGN, difference=0.4, outcome="quality", n_simulations=300)
    assert quality.participants < one_scale.participants


def test_difference_given_as_a_is_converted_consistently():
    model = RatingModel()
    shift = difference_for_a(DESIGN, 0.6, model=model)
    assert a_for_difference(DESIGN, shift, model=model) == pytest.approx(0.6, abs=0.005)
    result = participants_for_power(DESIGN, a=0.6, n_simulations=200)
    assert result.a == pytest.approx(0.6, abs=0.005) and result.difference == pytest.approx(shift)


def test_unreachable_power_and_bad_requests_are_explained():
    result = participants_for_power(DESIGN, difference=0.02, n_simulations=100, max_participants=40)
    assert result.participants is None
    assert result.statement.startswith("Even 40 participants give only")
    with pytest.raises(ValueError, match="either in scale points"):
        participants_for_power(DESIGN)
    with pytest.raises(ValueError, match="between 0.5 and 1"):
        participants_for_power(DESIGN, a=0.4)
    with pytest.raises(ValueError, match="two or more conditions"):
        PlannedDesign(conditions=1)
    with pytest.raises(ValueError, match="cannot give each participant 12 different"):
        PlannedDesign(conditions=4, items_per_condition=3, questions=10)


def test_same_seed_same_answer():
    first = participants_for_power(DESIGN, difference=0.5, n_simulations=200, seed=7)
    second = participants_for_power(DESIGN, difference=0.5, n_simulations=200, seed=7)
    assert first.participants == second.participants
    assert first.curve.equals(second.curve)
