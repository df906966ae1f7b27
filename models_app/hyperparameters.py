"""Training hyperparameters a run may override, read from `TrainConfig`'s fields (defaults, help and allowed values
live in their metadata), and the step from a run's overrides to the library's config.

Nothing here restates a range: a value's name and JSON type are checked here, everything else by `TrainConfig`.
"""

from dataclasses import Field, fields

from django.core.exceptions import ValidationError

from training.config import ConfigError, TrainConfig, allowed_values

# The training settings a run may override (the others keep the library's defaults), in the order the admin shows.
OVERRIDABLE = (
    "learning_rate",
    "batch_size",
    "gradient_accumulation_steps",
    "max_steps",
    "max_length",
    "label_max_length",
    "eval_every",
    "max_new_tokens",
    "alpha",
    "beta",
    "gamma",
    "counterfactuals_per_question",
    "formats",
    "factual_explanation",
    "wrong_option",
    "evaluated_checkpoint",
    "missing_teacher",
    "score_unmatched_answers",
    "no_repeat_ngram_size",
    "loss_on_prompt",
    "chat_template",
    "lora_rank",
    "lora_alpha",
    "lora_dropout",
    "lora_target_modules",
    "bf16",
    "report_to",
    "divergence_loss_ratio",
    "collapse_min_questions",
)
_FIELDS = {spec.name: spec for spec in fields(TrainConfig)}
HYPERPARAMETERS: dict[str, Field] = {name: _FIELDS[name] for name in OVERRIDABLE}
# The library's defaults: the paper's hyperparameters (the `paper` preset adds its quirks).
TRAINING_DEFAULTS = {name: spec.default for name, spec in HYPERPARAMETERS.items()}
# Settings of the run itself (its own model fields) that TrainConfig checks too; their problems are shown there.
RUN_MODEL_FIELDS = ("student", "method", "data_variant", "seed")


def _type_problem(name: str, default: object, value: object) -> str | None:
    """A JSON value of the wrong type for the setting (TrainConfig checks ranges and choices, not types)."""
    if default is None:  # true, false, or null for the library's choice (bf16)
        return (
            None
            if value is None or isinstance(value, bool)
            else f"{name} must be true, false or null, got {value!r}"
        )
    if isinstance(default, bool):
        return None if isinstance(value, bool) else f"{name} must be true or false, got {value!r}"
    if isinstance(default, str):
        return None if isinstance(value, str) else f"{name} must be a text, got {value!r}"
    is_number = isinstance(value, int | float) and not isinstance(value, bool)
    if isinstance(default, int) and not (is_number and isinstance(value, int)):
        return f"{name} must be an integer, got {value!r}"
    return None if is_number else f"{name} must be a number, got {value!r}"


def run_config(*, hyperparameters: dict | None, **settings) -> TrainConfig:
    """The library's config for a run: its own settings (`RUN_MODEL_FIELDS`) and its hyperparameters, the defaults
    overridden by `hyperparameters`. Raises ValidationError with each problem under the field it concerns: a run
    setting's under its own name, the others under "hyperparameters"."""
    if hyperparameters is None:
        hyperparameters = {}
    if not isinstance(hyperparameters, dict):
        raise ValidationError(
            {"hyperparameters": 'Give a JSON object, e.g. {"max_steps": 100}, or {} for the defaults.'}
        )
    errors: dict[str, list[str]] = {}
    values = {}
    for name, value in hyperparameters.items():
        spec = HYPERPARAMETERS.get(name)
        problem = (
            f"unknown hyperparameter {name!r}; known: {', '.join(HYPERPARAMETERS)}"
            if spec is None
            else _type_problem(name, spec.default, value)
        )
        if problem:
            errors.setdefault("hyperparameters", []).append(problem)
        elif isinstance(value, str):
            values[name] = value.strip()
        else:
            values[name] = float(value) if isinstance(spec.default, float) else value
    try:  # the values of the right type; the others keep their defaults meanwhile
        config = TrainConfig(**settings, **values)
    except ConfigError as exc:
        for name, problem in exc.problems:
            errors.setdefault(name if name in RUN_MODEL_FIELDS else "hyperparameters", []).append(problem)
    if errors:
        raise ValidationError(errors)
    return config


def full_hyperparameters(config: TrainConfig) -> dict:
    """Every hyperparameter a run may override, as `config` has it: what a training run stores."""
    return {name: getattr(config, name) for name in HYPERPARAMETERS}


def hyperparameter_help() -> str:
    parts = []
    for name, spec in HYPERPARAMETERS.items():
        allowed = allowed_values(spec.metadata)
        parts.append(
            f"{name} ({spec.metadata['help']}{'; ' + allowed if allowed else ''}; default {spec.default})"
        )
    return "; ".join(parts)
