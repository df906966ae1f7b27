"""The ratings export format: what the study writes and the analysis reads. No Django here, so the analysis can
use it on a CSV from anywhere."""

RATINGS_COLUMNS = (
    "study_id",
    "participant_id",
    "condition",
    "question_id",
    "position",
    "scale",
    "value",
    "seconds_on_item",
    "explanation_chars",
    "answer_correct",
    "dataset",  # the registry dataset the item's question comes from (cqa, strategyqa, esnli): a study may mix them
    "method",
    "data_variant",
    "training_run_id",
    "seed",
    "participant_status",
    "attention_check",
    "test_response",
    "rated_at",
)
PARTICIPANT_STATUSES = ("in_progress", "completed", "screened_out", "returned")
