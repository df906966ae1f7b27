"""The decisions export format: what a decision study writes and the analysis reads. No Django here, so the
analysis can use it on a CSV from anywhere.

One row per participant and item. `advice` is what the condition showed (none, answer, answer_explanation);
`advice_answer` and `advice_correct` are the model's answer and its correctness even where nothing was shown (a
control condition), so that every condition can be split by whether the advice was right. The initial columns
are empty in the one-step protocol; confidences are empty where none was given.
"""

DECISION_COLUMNS = (
    "study_id",
    "participant_id",
    "condition",
    "advice",
    "method",
    "data_variant",
    "training_run_id",
    "seed",
    "question_id",
    "question",
    "gold_answer",
    "advice_answer",
    "advice_correct",
    "initial_answer",
    "initial_confidence",
    "initial_correct",
    "final_answer",
    "final_confidence",
    "final_correct",
    "switched",
    "seconds_initial",
    "seconds_final",
    "position",
    "participant_status",
    "test_response",
    "clicks_initial",
    "clicks_final",
    "answered_at",
)
ADVICE_KINDS = ("none", "answer", "answer_explanation")
