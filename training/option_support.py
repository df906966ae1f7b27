"""Which answer option an explanation argues for: a cheap lexical consistency check.

An explanation written for option C that names option A flags a teacher that argued for the wrong option.
The reading is lexical, with no model:
1. an explicit letter, "(c)", that is the only one named;
2. otherwise the option whose words the explanation uses most: whole-phrase mentions first, then the share of
   the option's content words present, each word weighted by how few options contain it (so that the "car" in
   "car park" / "car wash" counts for little).
Ties and explanations that name no option stay undecided (None): the check flags only clear cases.
"""

import re
from collections.abc import Sequence

from .cqa import LABELS

_WORD = re.compile(r"[a-z0-9]+")
_LETTER = re.compile(r"\(([a-e])\)")
_STOPWORD_TEXT = (
    "a an the of to in on at for and or but by with from into as is are be been being it its this that these "
    "those your you their they them he she his her we our i my me not no so do does did get go"
)
STOPWORDS = frozenset(_STOPWORD_TEXT.split())


def _stem(word: str) -> str:
    for suffix in ("ies", "ing", "ed", "es", "s"):
        if len(word) > len(suffix) + 2 and word.endswith(suffix):
            return word[: -len(suffix)] + ("y" if suffix == "ies" else "")
    return word


def _words(text: str) -> list[str]:
    return [_stem(w) for w in _WORD.findall(text.lower())]


def _phrase_count(words: list[str], phrase: list[str]) -> int:
    n = len(phrase)
    return sum(words[i : i + n] == phrase for i in range(len(words) - n + 1)) if n else 0


def supported_option(text: str, choices: Sequence[str]) -> str | None:
    """The label (A–E) of the option `text` argues for, or None when the text names none or several equally."""
    letters = set(_LETTER.findall(text.lower()))
    if len(letters) == 1:
        return letters.pop().upper()
    words = _words(text)
    present = set(words)
    options = [_words(choice) for choice in choices]
    content = [{w for w in option if w not in STOPWORDS} or set(option) for option in options]
    spread = {w: sum(w in c for c in content) for c in content for w in c}
    scores = []
    for option, option_content in zip(options, content, strict=True):
        weight = sum(1 / spread[w] for w in option_content)
        coverage = sum(1 / spread[w] for w in option_content if w in present) / weight if weight else 0.0
        scores.append((_phrase_count(words, option), round(coverage, 6)))
    best = max(scores)
    if best == (0, 0.0) or scores.count(best) > 1:
        return None
    return LABELS[scores.index(best)]


def argues_for_other_option(text: str, choices: Sequence[str], label: str) -> bool:
    """True when `text`, written for option `label`, clearly argues for another option."""
    supported = supported_option(text, choices)
    return supported is not None and supported != label
