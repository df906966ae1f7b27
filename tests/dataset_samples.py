"""Small samples of StrategyQA and e-SNLI written by the tests (never the real data), in folders laid out like
../shared/data/strategyqa and ../shared/data/esnli: question files per split and a recorded teacher's outputs."""

import json
from pathlib import Path

from training.datasets import esnli_id

# (question, answer, facts, explanation for yes, explanation for no)
STRATEGYQA = {
    "train": [
        (
            "Can a goldfish live in a desert without water?",
            "no",
            "Goldfish breathe through gills in water.",
            "A goldfish can live anywhere it is kept.",
            "A goldfish needs water to breathe, so it dies in a dry desert.",
        ),
        (
            "Would a snowman melt in a hot summer sun?",
            "yes",
            "Snow melts above zero degrees.",
            "Summer sun is warm, so the snow of a snowman melts.",
            "A snowman is made to last all year.",
        ),
        (
            "Is a piano small enough to fit in a pocket?",
            "no",
            "A piano is a large instrument.",
            "A piano can be folded into a pocket.",
            "A piano is far larger than any pocket.",
        ),
        (
            "Do bees make honey from flowers?",
            "yes",
            "Bees collect nectar from flowers.",
            "Bees turn the nectar of flowers into honey.",
            "Bees only make wax, never honey.",
        ),
        (
            "Could a person read a book in total darkness?",
            "no",
            "Reading needs light.",
            "Eyes see letters without any light.",
            "Without light the eyes cannot see the letters of a book.",
        ),
        (
            "Is the sea salty?",
            "yes",
            "Sea water holds dissolved salt.",
            "Sea water has salt dissolved in it, so it is salty.",
            "The sea is fresh water like a lake.",
        ),
        (
            "Can a cat fly like a bird?",
            "no",
            "Cats have no wings.",
            "Cats flap their legs to fly.",
            "A cat has no wings, so it cannot fly like a bird.",
        ),
        (
            "Does ice float on water?",
            "yes",
            "Ice is lighter than water.",
            "Ice is less dense than water, so it floats.",
            "Ice is heavy and sinks to the bottom.",
        ),
    ],
    "test": [
        (
            "Can a fish climb a tree?",
            "no",
            "Fish live in water and have fins.",
            "Fish grip bark with their fins.",
            "A fish has fins, not limbs, and lives in water, so it cannot climb.",
        ),
        (
            "Is the sun hot?",
            "yes",
            "The sun is a burning star.",
            "The sun is a star that gives off great heat.",
            "The sun is cold like ice.",
        ),
        (
            "Would a candle burn under water?",
            "no",
            "Fire needs air.",
            "Water feeds the flame of a candle.",
            "A flame needs air, and water puts it out.",
        ),
        (
            "Do birds lay eggs?",
            "yes",
            "Birds hatch from eggs.",
            "Birds lay eggs from which their chicks hatch.",
            "Birds give birth to live young.",
        ),
        (
            "Can a stone swim?",
            "no",
            "Stones are heavy and lifeless.",
            "A stone paddles with its edges.",
            "A stone is lifeless and sinks, so it cannot swim.",
        ),
    ],
}

# (premise, hypothesis, label, explanation of entailment, of neutral, of contradiction)
ESNLI = {
    "train": [
        ("A man plays a guitar on a stage.", "A man plays an instrument.", "entailment"),
        ("A man plays a guitar on a stage.", "The man is famous.", "neutral"),
        ("A man plays a guitar on a stage.", "The man is asleep in bed.", "contradiction"),
        ("Two kids build a sandcastle on the beach.", "Children are at the beach.", "entailment"),
        ("Two kids build a sandcastle on the beach.", "The kids are brothers.", "neutral"),
        ("Two kids build a sandcastle on the beach.", "The kids are skiing on snow.", "contradiction"),
        ("A woman rides a red bicycle.", "A woman is on a bike.", "entailment"),
        ("A woman rides a red bicycle.", "The woman is going to work.", "neutral"),
        ("A woman rides a red bicycle.", "The woman is driving a truck.", "contradiction"),
        ("An old man feeds pigeons in a square.", "A man is feeding birds.", "entailment"),
        ("An old man feeds pigeons in a square.", "The man is lonely.", "neutral"),
        ("An old man feeds pigeons in a square.", "The man is asleep at home.", "contradiction"),
        ("A chef slices onions in a kitchen.", "Someone is cutting food.", "entailment"),
        ("A chef slices onions in a kitchen.", "The chef is crying.", "neutral"),
        ("A chef slices onions in a kitchen.", "The chef is swimming.", "contradiction"),
    ],
    "test": [
        ("A dog catches a ball in a park.", "An animal is outside.", "entailment"),
        ("A dog catches a ball in a park.", "The dog is three years old.", "neutral"),
        ("A dog catches a ball in a park.", "The dog sleeps indoors.", "contradiction"),
        ("A girl reads a book under a tree.", "A child is reading.", "entailment"),
        ("A girl reads a book under a tree.", "The book is about horses.", "neutral"),
        ("A girl reads a book under a tree.", "The girl is swimming in a pool.", "contradiction"),
    ],
}
ESNLI_LABELS = ("entailment", "neutral", "contradiction")


def _esnli_explanation(premise: str, hypothesis: str, label: str) -> str:
    return {
        "entailment": f"If {premise[0].lower()}{premise[1:-1]}, then {hypothesis[0].lower()}{hypothesis[1:]}",
        "neutral": f"The premise does not say whether {hypothesis[0].lower()}{hypothesis[1:]}",
        "contradiction": f"Both cannot be true: {premise} {hypothesis}",
    }[label]


def _write(path: Path, rows: list[dict]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


def write_strategyqa(folder: Path) -> Path:
    for split, items in STRATEGYQA.items():
        questions, teacher = [], []
        for number, (question, answer, facts, yes, no) in enumerate(items):
            qid = f"sq-{split}-{number}"
            questions.append(
                {
                    "id": qid,
                    "question": question,
                    "choices": {"label": ["A", "B"], "text": ["yes", "no"]},
                    "answerKey": "A" if answer == "yes" else "B",
                    "facts": facts,
                    "term": question.split()[2],
                    "description": "a test term",
                }
            )
            gold = yes if answer == "yes" else no
            teacher.append(
                {
                    "id": qid,
                    "answer": answer,
                    "explanation": gold,
                    "revised_explanation": f"{facts} {gold}",
                    "option_explanations": [yes, no],
                }
            )
        _write(folder / f"strategyqa_{split}.jsonl", questions)
        _write(folder / f"teacher_llama_{split}.jsonl", teacher)
    return folder


def write_esnli(folder: Path) -> Path:
    for split, items in ESNLI.items():
        questions, teacher = [], []
        for premise, hypothesis, label in items:
            qid = esnli_id(premise, hypothesis)
            questions.append(
                {
                    "id": qid,
                    "question": f"Premise: {premise} Hypothesis: {hypothesis} What is the relationship?",
                    "premise": premise,
                    "hypothesis": hypothesis,
                    "choices": {"label": ["A", "B", "C"], "text": list(ESNLI_LABELS)},
                    "answerKey": "ABC"[ESNLI_LABELS.index(label)],
                }
            )
            options = [_esnli_explanation(premise, hypothesis, option) for option in ESNLI_LABELS]
            teacher.append(
                {
                    "id": qid,
                    "answer": label,
                    "explanation": options[ESNLI_LABELS.index(label)],
                    "revised_explanation": f"The answer is {label}. {options[ESNLI_LABELS.index(label)]}",
                    "option_explanations": options,
                }
            )
        _write(folder / f"esnli_{split}.jsonl", questions)
        _write(folder / f"teacher_llama_{split}.jsonl", teacher)
    return folder


WRITERS = {"strategyqa": write_strategyqa, "esnli": write_esnli}
