"""The cheap consistency check: which option an explanation argues for."""

import pytest

from training.option_support import argues_for_other_option, supported_option

CHOICES = ("british columbia", "body of water", "wooded area", "pay debts", "zoo")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "Beavers take branches from wooded areas to build their dams.",
            "C",
        ),  # plural still names the option
        ("Beavers live in a body of water, and they find their supplies in the water.", "B"),
        ("The answer is (e), since zoos keep beavers.", "E"),  # an explicit letter wins
        ("Beavers are hard-working animals with strong teeth.", None),  # names no option
        ("A zoo is not the place; a wooded area is not either.", None),  # names two equally
    ],
)
def test_supported_option_reads_the_option_an_explanation_names(text, expected):
    assert supported_option(text, CHOICES) == expected


def test_shared_words_count_less_than_distinctive_ones():
    choices = ("go downtown", "appear suddenly", "go fast", "bottom out", "east")
    assert supported_option("The car was hailed to go to the opera downtown.", choices) == "A"


def test_flag_only_when_the_explanation_clearly_argues_for_another_option():
    # Written for C (wooded area) but argues for the zoo: flagged.
    assert argues_for_other_option("Beavers get their supplies from the zoo keepers.", CHOICES, "C")
    assert not argues_for_other_option("Wooded areas supply the wood beavers need.", CHOICES, "C")
    # Undecided texts are never flagged.
    assert not argues_for_other_option("Beavers are busy animals.", CHOICES, "C")
