"""Training hyperparameters: the paper's defaults, and the check that a run's overrides make sense."""

from dataclasses import dataclass

from django.core.exceptions import ValidationError


@dataclass(frozen=True)
class Hyperparameter:
    default: int | float
    help: str
    minimum: float
    maximum: float | None = None


# The paper's training settings (Hendriks et al., 2025); a run may override any of them.
HYPERPARAMETERS: dict[str, Hyperparameter] = {
    "learning_rate": Hyperparameter(5e-5, "AdamW learning rate, decayed linearly to 0", 1e-8, 1.0),
    "batch_size": Hyperparameter(48, "examples per optimiser step", 1),
    "gradient_accumulation_steps": Hyperparameter(1, "micro-batches per optimiser step", 1),
    "max_steps": Hyperparameter(5000, "optimiser steps", 1),
    "max_length": Hyperparameter(300, "longest input or target, in tokens", 8),
    "eval_steps": Hyperparameter(500, "steps between evaluations on the held-out 10%", 1),
    "alpha": Hyperparameter(0.5, "multitask: α·answer loss + (1−α)·explanation loss", 0.0, 1.0),
    "beta": Hyperparameter(1.0, "counterfactual: factual loss + β·counterfactual loss", 0.0),
    "gamma": Hyperparameter(0.5, "combined: γ·multitask + (1−γ)·counterfactual", 0.0, 1.0),
    "counterfactuals_per_question": Hyperparameter(1, "wrong-option explanations drawn per question", 1, 4),
}
TRAINING_DEFAULTS = {name: spec.default for name, spec in HYPERPARAMETERS.items()}


def normalize_hyperparameters(values: dict | None) -> dict:
    """The full set of hyperparameters: the defaults, overridden by `values`."""
    if values is None:
        values = {}
    if not isinstance(values, dict):
        raise ValidationError(
            {"hyperparameters": 'Give a JSON object, e.g. {"max_steps": 100}, or {} for the defaults.'}
        )
    errors = []
    result = dict(TRAINING_DEFAULTS)
    for name, value in values.items():
        spec = HYPERPARAMETERS.get(name)
        if spec is None:
            errors.append(f"unknown hyperparameter {name!r}; known: {', '.join(HYPERPARAMETERS)}")
            continue
        wants_int = isinstance(spec.default, int)
        is_number = isinstance(value, int | float) and not isinstance(value, bool)
        if not is_number or (wants_int and not isinstance(value, int)):
            errors.append(f"{name} must be {'an integer' if wants_int else 'a number'}, got {value!r}")
            continue
        if value < spec.minimum or (spec.maximum is not None and value > spec.maximum):
            upper = f" and at most {spec.maximum:g}" if spec.maximum is not None else ""
            errors.append(f"{name} must be at least {spec.minimum:g}{upper}, got {value!r}")
            continue
        result[name] = value if wants_int else float(value)
    if errors:
        raise ValidationError({"hyperparameters": errors})
    return result


def hyperparameter_help() -> str:
    return "; ".join(
        f"{name} ({spec.help}, default {spec.default:g})" for name, spec in HYPERPARAMETERS.items()
    )
