"""Teacher prompts: exact text for one question (golden files), seeded draws, chat and text renderings."""

import json
import os
from pathlib import Path

import pytest

from training.prompts import (
    ANSWER_LINE,
    critique_prompt,
    critique_revision_draws,
    explain_draws,
    explain_prompt,
    revision_prompt,
)
from training.worked_examples import REQUEST_PAIRS, STYLE_ADJECTIVES, WORKED_EXAMPLES

GOLDEN = Path(__file__).parent / "golden"
# UPDATE_GOLDEN=1 rewrites the golden files from the current prompts; review the diff before committing it.
UPDATE = os.environ.get("UPDATE_GOLDEN") == "1"


def check_golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if UPDATE:
        path.parent.mkdir(exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert text == path.read_text(encoding="utf-8"), f"{name} changed; rerun with UPDATE_GOLDEN=1 if intended"


def test_worked_examples_are_complete_and_spread_over_the_answer_letters():
    assert len(WORKED_EXAMPLES) >= 7 and len(REQUEST_PAIRS) == 10 and len(STYLE_ADJECTIVES) >= 10
    assert len({e.id for e in WORKED_EXAMPLES}) == len(WORKED_EXAMPLES)
    assert {e.answer_key for e in WORKED_EXAMPLES} == set("ABCDE")
    for example in WORKED_EXAMPLES:
        assert len(example.choices) == 5 and len(set(example.choices)) == 5
        assert 2 <= example.explanation.count(". ") + 1 <= 3, example.id


def test_explain_prompt_text_for_one_question(sample_questions):
    cup = sample_questions[0]
    draws = explain_draws(0, cup.id)
    assert len(draws["examples"]) == 7 and len(set(draws["styles"])) == 2
    prompt = explain_prompt(cup, "A", draws)
    check_golden("explain_q-cup_seed0.txt", prompt.as_text())
    check_golden("explain_q-cup_seed0.chat.json", json.dumps(prompt.as_messages(), indent=1) + "\n")


def test_critique_and_revision_prompt_texts_for_one_question(sample_questions):
    cup = sample_questions[0]
    draws = critique_revision_draws(0, cup.id)
    assert len(draws["critique_examples"]) == 6 and len(draws["revision_examples"]) == 4
    critique = critique_prompt(cup, "Cups go in cupboards.", draws)
    revision = revision_prompt(cup, "Cups go in cupboards.", "It does not say why.", draws)
    check_golden("critique_q-cup_seed0.txt", critique.as_text())
    check_golden("revision_q-cup_seed0.txt", revision.as_text())
    # The revision is prompted to start with the gold answer, in both renderings.
    assert revision.prefix == "The answer is (a) cupboard."
    assert revision.as_text().endswith("Revision: The answer is (a) cupboard.")
    assert revision.as_messages()[-1]["content"].endswith(REQUEST_PAIRS[draws["request_pair"]].revision)
    assert all(
        m["content"].startswith("The answer is (") for m in revision.as_messages() if m["role"] == "assistant"
    )


def test_draws_are_reproducible_per_question_and_seed_and_vary_otherwise():
    assert explain_draws(0, "q1") == explain_draws(0, "q1")
    assert critique_revision_draws(3, "q1") == critique_revision_draws(3, "q1")
    ids = [f"q{i}" for i in range(60)]
    styles = [tuple(explain_draws(0, qid)["styles"]) for qid in ids]
    assert len(set(styles)) > 40
    assert sum(explain_draws(0, qid) != explain_draws(1, qid) for qid in ids) > 50  # the seed matters
    # The explanation prompt shows every question the same worked examples; critique and revision draw theirs.
    assert len({tuple(explain_draws(0, qid)["examples"]) for qid in ids}) == 1
    assert len({tuple(critique_revision_draws(0, qid)["critique_examples"]) for qid in ids}) == 60
    assert {critique_revision_draws(0, qid)["request_pair"] for qid in ids} == set(range(10))


def test_option_prompts_differ_only_in_the_given_answer(sample_questions):
    bike = sample_questions[2]
    draws = explain_draws(0, bike.id)
    texts = [explain_prompt(bike, label, draws).as_text() for label in "ABCDE"]
    answer_lines = [
        ANSWER_LINE.format(letter=label.lower(), text=text)
        for label, text in zip("ABCDE", bike.choices, strict=True)
    ]
    assert [t.replace(line, "<given>") for t, line in zip(texts, answer_lines, strict=True)] == [
        texts[0].replace(answer_lines[0], "<given>")
    ] * 5


def test_too_many_examples_is_a_clear_error():
    with pytest.raises(ValueError, match="1 to 10 worked examples, not 11"):
        explain_draws(0, "q1", examples=11)
