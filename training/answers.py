"""Map a student's answer text to one of a question's options, recording which rule matched.

Rules, in order: `exact` (the text of an option, ignoring case, spacing and end punctuation), `letter` (a, (a),
A) ...), `closest` (the most similar option text, when similar enough), else `none`. Inference may then, when asked,
score the options of an unmatched answer (`scored`, see `inference.score_targets`).
"""

import re
from dataclasses import dataclass
from difflib import SequenceMatcher

from .cqa import LABELS, Question

RULES = ("exact", "letter", "closest", "none", "scored")
DEFAULT_MIN_SIMILARITY = 0.6
_LETTER = re.compile(r"^\(?([a-e])\)?$")


@dataclass(frozen=True)
class AnswerMatch:
    label: str  # A–E, or "" when no option matched
    rule: str  # one of RULES


def normalize(text: str) -> str:
    text = " ".join(text.lower().split())
    return text.strip(" .,;:!?\"'")


def match_option(
    text: str, question: Question, *, min_similarity: float = DEFAULT_MIN_SIMILARITY
) -> AnswerMatch:
    answer = normalize(text)
    if not answer:
        return AnswerMatch("", "none")
    options = [normalize(choice) for choice in question.choices]
    exact = [label for label, option in zip(question.labels, options, strict=True) if option == answer]
    if exact:
        # Some questions list the same text twice: that text is the gold answer if either copy is.
        return AnswerMatch(question.answer_key if question.answer_key in exact else exact[0], "exact")
    letter = _LETTER.match(answer)
    if letter and letter.group(1).upper() in question.labels:
        return AnswerMatch(letter.group(1).upper(), "letter")
    scores = [SequenceMatcher(None, answer, option).ratio() for option in options]
    best = max(range(len(options)), key=scores.__getitem__)
    if scores[best] >= min_similarity:
        return AnswerMatch(LABELS[best], "closest")
    return AnswerMatch("", "none")
