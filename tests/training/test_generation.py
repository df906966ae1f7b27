"""Generation methods, traced records, the response cache, resuming, failures and flags."""

import json
import re

import pytest

from tests.training.openai_server import OpenAIServer
from training.generation import Generation, GenerationConfig
from training.prompts import (
    CRITIQUE_INSTRUCTION,
    REVISION_INSTRUCTION,
    critique_revision_draws,
    explain_draws,
    explain_prompt,
)
from training.response_cache import ResponseCache
from training.teacher import TeacherSpec
from training.teacher_factory import build_teacher


def http_teacher(server, **options):
    return build_teacher(
        TeacherSpec(
            backend="openai", model="test-model", base_url=server.url, options={"backoff_s": 0.01, **options}
        )
    )


def run(generation) -> list:
    return [record for batch in generation for record in batch]


def stage_reply(body: dict) -> str:
    """Answers like a chat teacher: an explanation, a critique, or a revision that repeats its forced start."""
    system, query = body["messages"][0]["content"], body["messages"][-1]["content"]
    answer = re.search(r"The answer is \(\w\) [^\n]*\.", query).group(0)
    if system == CRITIQUE_INSTRUCTION:
        return "It never says why.\nextra"
    if system == REVISION_INSTRUCTION:
        return f"{answer} Revised: {query.split('Explanation: ')[1].splitlines()[0]}"
    return f"{answer.removeprefix('The answer is ')} is right because it fits.\nQuestion: next"


def test_explain_records_carry_prompt_teacher_seed_draws_and_usage(openai_server, sample_questions):
    teacher = http_teacher(openai_server)
    seen = []
    generation = Generation(
        sample_questions, teacher, GenerationConfig("explain", seed=3), progress=lambda *p: seen.append(p)
    )
    records = run(generation)
    assert [(r.id, r.kind, r.option_label) for r in records] == [
        (q.id, "explanation", "") for q in sample_questions
    ]
    cup = records[0]
    assert cup.text == "Answer to: The answer is (a) cupboard."  # first line only
    draws = explain_draws(3, "q-cup")
    assert cup.prompt == teacher.render(explain_prompt(sample_questions[0], "A", draws))
    assert cup.params == {"teacher": teacher.describe(), "method": "explain", "seed": 3, "draws": draws}
    assert cup.params["teacher"]["decoding"]["temperature"] == 0.0  # greedy by default
    assert cup.usage["prompt_tokens"] > 100 and cup.usage["cached"] is False
    assert re.fullmatch(r"[0-9a-f]{64}", cup.cache_key) and cup.created_at.startswith("20")
    assert cup.flags == ()
    assert seen[0] == (0, 3) and seen[-1] == (3, 3)
    assert (generation.stats.generated, generation.stats.teacher_calls, generation.stats.failures) == (
        3,
        3,
        0,
    )


def test_option_explanations_give_each_option_with_the_same_draws(openai_server, sample_questions, tmp_path):
    teacher = http_teacher(openai_server)
    cache = ResponseCache(tmp_path / "cache", teacher.describe())
    run(Generation(sample_questions, teacher, GenerationConfig("explain"), cache=cache))
    generation = Generation(
        sample_questions, teacher, GenerationConfig("option_explanations", batch_size=10), cache=cache
    )
    records = run(generation)
    assert [(r.id, r.option_label) for r in records[:5]] == [("q-cup", label) for label in "ABCDE"]
    assert len(records) == 15 and {r.kind for r in records} == {"option_explanation"}
    assert records[3].text == "Answer to: The answer is (d) bed."
    assert len({json.dumps(r.params["draws"]) for r in records[:5]}) == 1
    # The gold option's prompt is the explain prompt: its output comes from the cache, the other four are asked.
    assert (generation.stats.cache_hits, generation.stats.teacher_calls) == (3, 12)
    assert records[0].usage["cached"] and not records[1].usage["cached"]


def test_critique_revise_chains_explanation_critique_and_revision(sample_questions):
    with OpenAIServer(reply=stage_reply) as server:
        teacher = http_teacher(server)
        records = run(Generation(sample_questions[:2], teacher, GenerationConfig("critique_revise", seed=1)))
    by_kind = {(r.id, r.kind): r for r in records}
    assert len(records) == 6
    explanation = by_kind[("q-cup", "explanation")]
    critique = by_kind[("q-cup", "critique")]
    revised = by_kind[("q-cup", "revised_explanation")]
    assert explanation.text == "(a) cupboard. is right because it fits."
    assert critique.text == "It never says why."
    assert f"Explanation: {explanation.text}" in json.loads(critique.prompt)[-1]["content"]
    assert f"Critique: {critique.text}" in json.loads(revised.prompt)[-1]["content"]
    # The teacher repeated the forced start "The answer is (a) cupboard."; the stored revision drops it.
    assert revised.text == f"Revised: {explanation.text}"
    assert critique.params["draws"] == revised.params["draws"] == critique_revision_draws(1, "q-cup")
    assert explanation.params["draws"] == explain_draws(1, "q-cup")


def test_rerunning_a_finished_generation_with_the_cache_makes_no_teacher_call(
    openai_server, sample_questions, tmp_path
):
    teacher = http_teacher(openai_server)
    config = GenerationConfig("explain")
    first = run(
        Generation(sample_questions, teacher, config, cache=ResponseCache(tmp_path, teacher.describe()))
    )
    asked = len(openai_server.requests)
    again = Generation(sample_questions, teacher, config, cache=ResponseCache(tmp_path, teacher.describe()))
    second = run(again)
    assert (
        len(openai_server.requests) == asked
        and again.stats.teacher_calls == 0
        and again.stats.cache_hits == 3
    )
    assert [(r.text, r.prompt, r.cache_key, r.created_at) for r in second] == [
        (r.text, r.prompt, r.cache_key, r.created_at) for r in first
    ]


def test_resume_after_a_crash_asks_only_for_what_the_store_lacks(openai_server, sample_questions):
    teacher = http_teacher(openai_server)
    config = GenerationConfig("critique_revise", batch_size=1)
    crashed = iter(Generation(sample_questions, teacher, config))
    store = next(crashed) + next(crashed)  # the first two explanations were stored, then the run died
    crashed.close()
    seen = []
    resumed = Generation(sample_questions, teacher, config, stored=store, progress=lambda *p: seen.append(p))
    store += run(resumed)
    assert resumed.stats.already_stored == 2 and resumed.stats.teacher_calls == 7
    keys = [(r.id, r.kind) for r in store]
    assert len(keys) == len(set(keys)) == 9
    assert seen[0] == (2, 9) and seen[-1] == (9, 9)
    # The crashed run lost at most the one call it had in flight.
    assert len(openai_server.requests) <= 2 + 1 + 7
    # The critique built on the stored explanation.
    critique = next(r for r in store if r.id == "q-cup" and r.kind == "critique")
    assert f"Explanation: {store[0].text}" in critique.prompt


def test_a_store_from_another_generation_is_refused(openai_server, sample_questions):
    teacher = http_teacher(openai_server)
    store = run(Generation(sample_questions[:1], teacher, GenerationConfig("explain", seed=0)))
    with pytest.raises(ValueError, match="store this generation elsewhere"):
        Generation(sample_questions, teacher, GenerationConfig("explain", seed=1), stored=store)


def test_failed_outputs_are_counted_skipped_downstream_and_retried_on_rerun(openai_server, sample_questions):
    teacher = http_teacher(openai_server, max_in_flight=1, max_retries=1)
    config = GenerationConfig("critique_revise")
    openai_server.fail_next(2, 500, "boom")  # the first question's explanation fails twice: given up
    generation = Generation(sample_questions, teacher, config)
    store = run(generation)
    assert generation.stats.failures == 3 and len(store) == 6
    assert (
        generation.stats.errors[0] == "question q-cup, explanation: HTTP 500: boom (gave up after 2 attempts)"
    )
    assert "question q-cup, critique: no earlier output" in generation.stats.errors[1]
    rerun = Generation(sample_questions, teacher, config, stored=store)
    store += run(rerun)
    assert rerun.stats.failures == 0 and rerun.stats.generated == 3 and len(store) == 9


def test_empty_outputs_and_explanations_for_another_option_are_flagged(sample_questions):
    replies = {
        "q-cup": "",
        "q-scissors": "You cut paper with a spoon.",
        "q-bike": "Someone pedaling moves it.",
    }

    def reply(body):
        query = body["messages"][-1]["content"]
        return next(text for qid, text in replies.items() if questions_by_id[qid].question in query)

    questions_by_id = {q.id: q for q in sample_questions}
    with OpenAIServer(reply=reply) as server:
        generation = Generation(sample_questions, http_teacher(server), GenerationConfig("explain"))
        records = {r.id: r for r in run(generation)}
    assert records["q-cup"].flags == ("empty",)
    assert records["q-scissors"].flags == ("other_option",)  # given scissors (B), argues for the spoon (A)
    assert records["q-bike"].flags == ()
    assert generation.stats.flagged == {"empty": 1, "other_option": 1}


def test_transformers_teacher_generates_traced_explanations(tiny_lm_dir, sample_questions, tmp_path):
    spec = TeacherSpec(
        backend="transformers",
        model=str(tiny_lm_dir),
        decoding={"max_new_tokens": 6},
        options={"prompt_format": "completion"},
    )
    config = GenerationConfig("explain", explain_examples=2)
    teacher = build_teacher(spec)
    generation = Generation(
        sample_questions, teacher, config, cache=ResponseCache(tmp_path, teacher.describe())
    )
    records = run(generation)
    assert len(records) == 3 and all(r.prompt.endswith("\nExplanation:") for r in records)
    assert all(r.usage["completion_tokens"] <= 6 and r.usage["prompt_tokens"] > 50 for r in records)
    assert records[0].params["teacher"]["backend"] == "transformers"
    assert generation.stats.prompt_tokens == sum(r.usage["prompt_tokens"] for r in records)
    # Served whole by the cache, the same generation never even loads the model's weights.
    again = build_teacher(spec)
    assert [
        r.text
        for r in run(
            Generation(sample_questions, again, config, cache=ResponseCache(tmp_path, again.describe()))
        )
    ] == [r.text for r in records]
    assert again._model is None


def test_a_prompt_label_the_teacher_copies_is_not_part_of_the_output(sample_questions):
    def reply(body):
        query = body["messages"][-1]["content"]
        answer = re.search(r"The answer is \(\w\) [^\n]*\.", query).group(0)
        if body["messages"][0]["content"] == REVISION_INSTRUCTION:  # repeats the forced start, then a label
            return f"{answer} Explanation: A cupboard holds cups."
        if body["messages"][0]["content"] == CRITIQUE_INSTRUCTION:
            return "Critique: It is too short."
        return "Explanation:  Cups are kept in a cupboard."

    with OpenAIServer(reply=reply) as server:
        records = run(
            Generation(sample_questions[:1], http_teacher(server), GenerationConfig("critique_revise"))
        )
    assert {r.kind: r.text for r in records} == {
        "explanation": "Cups are kept in a cupboard.",
        "critique": "It is too short.",
        "revised_explanation": "A cupboard holds cups.",
    }
