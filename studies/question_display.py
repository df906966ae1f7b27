"""How a study page shows a question, per dataset, as a person reads it (the registry's `display`):

- `choices` (CommonsenseQA): the question and its lettered options;
- `yes_no` (StrategyQA): the question and its two answers, Yes and No;
- `premise_hypothesis` (e-SNLI): the premise and the hypothesis as two labelled blocks, and the three labels in
  plain words ("follows from it", "may or may not be true", "contradicts it").
"""

from models_app.models import OPTION_LABELS, Question

# How the premise-hypothesis display asks about the pair, before the options' plain words.
PAIR_LEAD_IN = "Given the statement, the claim …"


def question_view(question: Question, answer_label: str) -> dict:
    """Template context for `question` with the model's answer `answer_label`: `display`, `question_text` (the
    question as read, empty for a pair), `blocks` (labelled texts), `lead_in`, `choices` ((letter, shown label,
    text) per option) and `answer_text` (the model's answer as shown)."""
    spec = question.dataset.spec
    labels = OPTION_LABELS[: len(question.choices)]
    words = spec.option_wording or question.choices
    lettered = spec.display == "choices"  # yes/no and the pair's plain words read without letters
    choices = [(label, label if lettered else "", text) for label, text in zip(labels, words, strict=True)]
    blocks = [(spec.field_label(name), question.fields.get(name, "")) for name in spec.fields]
    pair = spec.display == "premise_hypothesis"
    return {
        "display": spec.display,
        "dataset_title": spec.title,
        "question_text": "" if pair else question.text,
        "blocks": blocks if pair else [],
        "lead_in": PAIR_LEAD_IN if pair else "",
        "choices": choices,
        "answer_text": dict(zip(labels, words, strict=True))[answer_label],
    }
