"""The default study design: the paper's five rating constructs, consent and instruction texts, demographics.

Every default here can be replaced per study in the admin or through `services.create_study`.
"""

from dataclasses import dataclass, field

AGREEMENT_ANCHORS = ["Strongly disagree", "Disagree", "Neither agree nor disagree", "Agree", "Strongly agree"]


@dataclass(frozen=True)
class ScaleSpec:
    """A Likert item to create: `anchors` names each point from min_value to max_value."""

    name: str
    label: str
    statement: str
    anchors: list[str] = field(default_factory=lambda: list(AGREEMENT_ANCHORS))
    min_value: int = 1
    max_value: int = 5


DEFAULT_SCALES = [
    ScaleSpec(
        "plausibility", "Plausibility", "The explanation is plausible: what it says could well be true."
    ),
    ScaleSpec("understandability", "Understandability", "The explanation is easy to understand."),
    ScaleSpec(
        "completeness", "Completeness", "The explanation gives all the reasons needed to reach the answer."
    ),
    ScaleSpec("satisfaction", "Satisfaction", "I am satisfied with this explanation of the answer."),
    ScaleSpec(
        "contrastiveness",
        "Contrastiveness",
        "The explanation makes clear why this answer is better than the other options.",
    ),
]

DEFAULT_CONSENT_TEXT = """\
This study is part of research on how well small language models explain their answers.

You will read short multiple-choice questions about everyday knowledge, each with an answer and an \
explanation written by a computer model, and rate each explanation on a few statements.

Taking part is voluntary and you may stop at any time by closing this page. Some questions come from a public \
data set and may touch on sensitive topics. We store your ratings, the time you spend on each page and your \
answers to a few background questions. We do not store your name; your Prolific ID is kept only to pay you \
and is removed from the data we analyse and share.

If you have questions about the study, contact the researchers through Prolific."""

DEFAULT_INSTRUCTIONS = """\
On each page you will see a question, its five answer options, the answer a computer model chose and the \
explanation the model gave for it.

Rate the explanation, not the answer: an explanation can be good even when the answer is wrong, and poor \
even when the answer is right. For each statement, choose how much you agree.

Please read every explanation carefully. Some pages check that you are paying attention by asking for a \
particular rating; follow what they ask."""

DEFAULT_DECISION_INSTRUCTIONS = """\
On each page you will see a question and its answer options. Choose the answer you think is right.

Then a computer model's advice is shown: on some pages its answer, on some its answer and its explanation, on \
some nothing. The model is sometimes wrong. Choose your final answer: you may keep your first one or change it.

Your first answer cannot be changed once you have seen the advice. Please answer every question as well as you \
can; there is no time limit, but please do not look the answers up."""

DEFAULT_DEMOGRAPHICS = [
    {
        "key": "age_group",
        "label": "What is your age?",
        "kind": "choice",
        "choices": ["18–24", "25–34", "35–44", "45–54", "55–64", "65 or older", "Prefer not to say"],
        "required": True,
    },
    {
        "key": "english",
        "label": "How would you describe your English?",
        "kind": "choice",
        "choices": ["Native speaker", "Fluent", "Good", "Basic", "Prefer not to say"],
        "required": True,
    },
    {
        "key": "ai_familiarity",
        "label": "How often do you use AI chat assistants?",
        "kind": "choice",
        "choices": ["Never", "A few times", "Monthly", "Weekly", "Daily"],
        "required": False,
    },
]

ATTENTION_CHECK_INSTRUCTION = (
    "This page checks that you are reading carefully; it is not a model's explanation. "
    'Please choose "{anchor}" ({value}) for every statement below.'
)
ATTENTION_CHECK_DEFAULT_VALUE = 2
