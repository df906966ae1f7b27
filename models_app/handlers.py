"""Job handlers, one per run kind, registered with `jobs.register`.

Each handler calls the `training` library and stores what it yields; see the issue that adds each kind.
What a handler reads and writes through:
- `selectors.questions_for_split(dataset=, split=)` → `training.cqa.Question` records;
- `selectors.teacher_explanations(training_run=)` → `{question id: TeacherExplanations}` from its generation runs;
- `selectors.stored_teacher_output_keys(generation_run=)`, `selectors.stored_prediction_ids(inference_run=)`:
  what a resumed run skips;
- `records.store_teacher_outputs(generation_run=, outputs=)`, `records.store_predictions(inference_run=,
  predictions=)`, `records.store_checkpoint(training_run=, role=, step=, path=, eval_accuracy=)`: bulk, idempotent.
A run's settings are on its row (`GenerationRun.method/seed`, `TrainingRun.hyperparameters` with the paper's
defaults filled in, `InferenceRun.checkpoint_role/split`).
"""
