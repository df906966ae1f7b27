"""Teacher prompts: the few-shot explanation, critique and revision prompts, and their seeded draws.

A `Prompt` is built once and rendered per backend:
- as one text (`as_text`) for completion endpoints and models without a chat template: the instruction, then
  each worked example as its question block followed by `<label> <answer>`, then the query and `<label>`
  (plus the forced start of the answer, if any), which the teacher continues;
- as chat messages (`as_messages`) for chat endpoints and chat models: the instruction as the system message,
  each worked example as a user turn (its question block) and an assistant turn (its answer), and the query as
  the last user turn. The forced start of the answer (`prefix`) is pre-filled after the assistant header by the
  local transformers backend; over HTTP it cannot be forced portably, so the worked examples show it and the
  generation strips it when the teacher repeats it.

Random draws (style adjectives, request pair, the critique and revision prompts' worked examples) are seeded
per question and purpose, so a question's prompt depends only on the seed and the question, never on batch
order or on resuming. The explanation prompt shows the same worked examples to every question, as the paper's.
"""

import random
from collections.abc import Sequence
from dataclasses import dataclass

from .cqa import LABELS, Question
from .datasets import DATASETS, DEFAULT_DATASET, dataset_spec
from .worked_examples import REQUEST_PAIRS, STYLE_ADJECTIVES, RequestPair, WorkedExample

ANSWER_LINE = "The answer is ({letter}) {text}."

# Each dataset's registry entry holds its explanation instruction and worked examples (training.datasets).
EXPLAIN_INSTRUCTION = dataset_spec(DEFAULT_DATASET).explain_instruction
# Drawn per prompt, and asked in the query rather than the instruction: every explanation prompt of a run then
# starts with the same instruction and worked examples, a prefix the teacher computes once per batch.
STYLE_REQUEST = "Give a {style_a} and {style_b} explanation for this question."
CRITIQUE_INSTRUCTION = (
    "Each question below comes with an answer, an explanation of it, and a request about that explanation. "
    "Answer the request with a critique of one or two sentences."
)
REVISION_INSTRUCTION = (
    "Each question below comes with an answer, an explanation, a critique of the explanation, and a request to "
    "revise it. Write the revised explanation, starting with the answer."
)
EXPLANATION_LABEL = "Explanation:"
CRITIQUE_REQUEST_LABEL = "Critique request:"
CRITIQUE_LABEL = "Critique:"
REVISION_REQUEST_LABEL = "Revision request:"
REVISION_LABEL = "Revision:"
ANSWER_LABELS = (EXPLANATION_LABEL, CRITIQUE_LABEL, REVISION_LABEL)  # labels that name a teacher's answer

# Defaults of the paper: how many worked examples each prompt shows (at most as many as a dataset has).
EXPLAIN_EXAMPLES = 7
CRITIQUE_EXAMPLES = 6
REVISION_EXAMPLES = 4
EXAMPLES_BY_ID = {example.id: example for spec in DATASETS.values() for example in spec.worked_examples}


@dataclass(frozen=True)
class Prompt:
    instruction: str
    turns: tuple[tuple[str, str], ...]  # worked examples: (question block, answer)
    query: str  # the question block the teacher answers
    label: str  # names the answer in the text rendering, e.g. "Explanation:"
    prefix: str = ""  # the start of the answer, forced where the backend can; not part of the output

    def as_text(self) -> str:
        blocks = [self.instruction, *(f"{user}\n{self.label} {answer}" for user, answer in self.turns)]
        ending = f"{self.label} {self.prefix}" if self.prefix else self.label
        return "\n\n".join([*blocks, f"{self.query}\n{ending}"])

    def as_messages(self) -> list[dict[str, str]]:
        messages = [{"role": "system", "content": self.instruction}]
        for user, answer in self.turns:
            messages += [{"role": "user", "content": user}, {"role": "assistant", "content": answer}]
        return [*messages, {"role": "user", "content": self.query}]


def answer_line(choices: Sequence[str], label: str) -> str:
    index = LABELS.index(label)
    return ANSWER_LINE.format(letter=label.lower(), text=choices[index])


def question_block(question: str, choices: Sequence[str], label: str) -> str:
    """The question, its lettered choices (a), (b), ..., and the answer given as `label`."""
    options = " ".join(
        f"({letter.lower()}) {text}" for letter, text in zip(LABELS[: len(choices)], choices, strict=True)
    )
    return f"Question: {question}\nAnswer choices: {options}\n{answer_line(choices, label)}"


def _example_block(example: WorkedExample) -> str:
    return question_block(example.question, example.choices, example.answer_key)


def _rng(seed: int, question_id: str, purpose: str) -> random.Random:
    # String seeds hash with SHA-512: the same on every machine and Python process.
    return random.Random(f"{seed}/{question_id}/{purpose}")


def _check_count(count: int, pool: tuple[WorkedExample, ...], limit: int) -> int:
    """`count` worked examples of `pool`; a default (`limit`) larger than a dataset's pool shows them all."""
    if not 0 < count <= len(pool) and not (count == limit and pool):
        raise ValueError(f"a prompt can show 1 to {len(pool)} worked examples, not {count}")
    return min(count, len(pool))


def _draw_examples(rng: random.Random, count: int, pool: tuple[WorkedExample, ...], limit: int) -> list[str]:
    return [example.id for example in rng.sample(pool, _check_count(count, pool, limit))]


def explain_draws(
    seed: int, question_id: str, *, examples: int = EXPLAIN_EXAMPLES, dataset: str = DEFAULT_DATASET
) -> dict:
    """The worked examples of the explanation prompt (the first `examples` of the dataset's, the same for every
    question) and the two style adjectives drawn for this question."""
    rng = _rng(seed, question_id, "explain")
    pool = dataset_spec(dataset).worked_examples
    fixed = pool[: _check_count(examples, pool, EXPLAIN_EXAMPLES)]
    return {"examples": [e.id for e in fixed], "styles": rng.sample(STYLE_ADJECTIVES, 2)}


def critique_revision_draws(
    seed: int,
    question_id: str,
    *,
    critique_examples: int = CRITIQUE_EXAMPLES,
    revision_examples: int = REVISION_EXAMPLES,
    dataset: str = DEFAULT_DATASET,
) -> dict:
    """The request pair and the worked examples (of the question's dataset) of its critique and revision
    prompts."""
    rng = _rng(seed, question_id, "critique_revision")
    pool = dataset_spec(dataset).worked_examples
    return {
        "request_pair": rng.randrange(len(REQUEST_PAIRS)),
        "critique_examples": _draw_examples(rng, critique_examples, pool, CRITIQUE_EXAMPLES),
        "revision_examples": _draw_examples(rng, revision_examples, pool, REVISION_EXAMPLES),
    }


def explain_prompt(question: Question, label: str, draws: dict) -> Prompt:
    """Ask for an explanation of `label` given as the answer (the gold one, or another for counterfactuals)."""
    style_a, style_b = draws["styles"]
    return Prompt(
        instruction=dataset_spec(question.dataset).explain_instruction,
        turns=tuple(
            (_example_block(EXAMPLES_BY_ID[i]), EXAMPLES_BY_ID[i].explanation) for i in draws["examples"]
        ),
        query=(
            f"{STYLE_REQUEST.format(style_a=style_a, style_b=style_b)}\n"
            f"{question_block(question.question, question.choices, label)}"
        ),
        label=EXPLANATION_LABEL,
    )


def _with_critique_request(block: str, explanation: str, requests: RequestPair) -> str:
    return f"{block}\n{EXPLANATION_LABEL} {explanation}\n{CRITIQUE_REQUEST_LABEL} {requests.critique}"


def critique_prompt(question: Question, explanation: str, draws: dict) -> Prompt:
    """Ask for a critique of the question's explanation, with the drawn critique request."""
    requests = REQUEST_PAIRS[draws["request_pair"]]
    turns = tuple(
        (_with_critique_request(_example_block(e), e.draft, requests), e.critique)
        for e in (EXAMPLES_BY_ID[i] for i in draws["critique_examples"])
    )
    query = question_block(question.question, question.choices, question.answer_key)
    return Prompt(
        instruction=CRITIQUE_INSTRUCTION,
        turns=turns,
        query=_with_critique_request(query, explanation, requests),
        label=CRITIQUE_LABEL,
    )


def _with_revision_request(block: str, explanation: str, critique: str, requests: RequestPair) -> str:
    return (
        f"{_with_critique_request(block, explanation, requests)}\n{CRITIQUE_LABEL} {critique}\n"
        f"{REVISION_REQUEST_LABEL} {requests.revision}"
    )


def revision_prompt(question: Question, explanation: str, critique: str, draws: dict) -> Prompt:
    """Ask for the explanation revised after the critique; the revision starts with the gold answer line."""
    requests = REQUEST_PAIRS[draws["request_pair"]]
    turns = tuple(
        (
            _with_revision_request(_example_block(e), e.draft, e.critique, requests),
            f"{answer_line(e.choices, e.answer_key)} {e.revision}",
        )
        for e in (EXAMPLES_BY_ID[i] for i in draws["revision_examples"])
    )
    query = question_block(question.question, question.choices, question.answer_key)
    return Prompt(
        instruction=REVISION_INSTRUCTION,
        turns=turns,
        query=_with_revision_request(query, explanation, critique, requests),
        label=REVISION_LABEL,
        prefix=answer_line(question.choices, question.answer_key),
    )
