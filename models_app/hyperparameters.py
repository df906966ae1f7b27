"""Training hyperparameters: the paper's defaults, and the check that a run's overrides make sense."""

from dataclasses import dataclass

from django.core.exceptions import ValidationError

from training.config import (
    EVALUATED_CHECKPOINTS,
    FACTUAL_EXPLANATIONS,
    MISSING_TEACHER_POLICIES,
    TRACKERS,
    WRONG_OPTIONS,
    TrainConfig,
)
from training.formats import FORMATS

PAPER = (
    TrainConfig()
)  # the library's defaults: the paper's hyperparameters (the `paper` preset adds its quirks)


@dataclass(frozen=True)
class Hyperparameter:
    default: bool | int | float | str
    help: str
    minimum: float | None = None  # numbers: the range allowed
    maximum: float | None = None
    choices: tuple[str, ...] = ()  # words: the values allowed


# The training settings a run may override (the others keep the library's defaults); names are TrainConfig's.
HYPERPARAMETERS: dict[str, Hyperparameter] = {
    "learning_rate": Hyperparameter(
        PAPER.learning_rate, "AdamW learning rate, decayed linearly to 0", 1e-8, 1.0
    ),
    "batch_size": Hyperparameter(PAPER.batch_size, "examples per optimiser step", 1),
    "gradient_accumulation_steps": Hyperparameter(
        PAPER.gradient_accumulation_steps, "micro-batches per optimiser step", 1
    ),
    "max_steps": Hyperparameter(PAPER.max_steps, "optimiser steps", 1),
    "max_length": Hyperparameter(PAPER.max_length, "longest input or target, in tokens", 8),
    "label_max_length": Hyperparameter(PAPER.label_max_length, "longest target, in tokens; 0: max_length", 0),
    "eval_every": Hyperparameter(
        PAPER.eval_every, "steps between evaluations (and checkpoints) on the held-out 10%", 1
    ),
    "max_new_tokens": Hyperparameter(PAPER.max_new_tokens, "generation limit for explanations", 1),
    "alpha": Hyperparameter(PAPER.alpha, "multitask: α·answer loss + (1−α)·explanation loss", 0.0, 1.0),
    "beta": Hyperparameter(
        PAPER.beta,
        "combined: β·factual loss + (1−β)·counterfactual loss (counterfactual alone: 1 + 1)",
        0.0,
        1.0,
    ),
    "gamma": Hyperparameter(PAPER.gamma, "combined: γ·multitask + (1−γ)·counterfactual", 0.0, 1.0),
    "counterfactuals_per_question": Hyperparameter(
        PAPER.counterfactuals_per_question, "wrong-option explanations per question", 1, 4
    ),
    "formats": Hyperparameter(
        PAPER.formats,
        "student input and target formats: project, or paper (the study's strings)",
        choices=tuple(FORMATS),
    ),
    "factual_explanation": Hyperparameter(
        PAPER.factual_explanation,
        "factual target text: variant (the data variant's) or gold_option (the teacher's explanation of the gold option)",
        choices=FACTUAL_EXPLANATIONS,
    ),
    "wrong_option": Hyperparameter(
        PAPER.wrong_option,
        "counterfactual option: random, first_wrong (in option order) or first (option (a), even when gold)",
        choices=WRONG_OPTIONS,
    ),
    "evaluated_checkpoint": Hyperparameter(
        PAPER.evaluated_checkpoint,
        "the checkpoint inference uses by default: best (held-out accuracy) or final (the last weights)",
        choices=EVALUATED_CHECKPOINTS,
    ),
    "missing_teacher": Hyperparameter(
        PAPER.missing_teacher,
        "questions whose teacher output is missing or empty: error refuses the data, skip leaves them out",
        choices=MISSING_TEACHER_POLICIES,
    ),
    "score_unmatched_answers": Hyperparameter(
        PAPER.score_unmatched_answers,
        "true: an answer that names no option becomes the option the student finds likeliest",
    ),
    "no_repeat_ngram_size": Hyperparameter(
        PAPER.no_repeat_ngram_size, "generation never repeats an n-gram of this many tokens; 0: off", 0, 20
    ),
    "loss_on_prompt": Hyperparameter(
        PAPER.loss_on_prompt,
        "causal-LM students: true counts prompt tokens in the loss too (the study's extension; the paper preset)",
    ),
    "chat_template": Hyperparameter(
        PAPER.chat_template, "causal-LM students: true wraps each prompt in the tokenizer's chat template"
    ),
    "lora_rank": Hyperparameter(
        PAPER.lora_rank, "LoRA rank; 0 trains every weight (checkpoints: adapter only)", 0, 1024
    ),
    "lora_alpha": Hyperparameter(PAPER.lora_alpha, "LoRA scaling numerator (scale alpha / rank)", 1e-6, 1e6),
    "lora_dropout": Hyperparameter(PAPER.lora_dropout, "dropout on the LoRA input", 0.0, 0.99),
    "lora_target_modules": Hyperparameter(
        PAPER.lora_target_modules,
        "comma-separated module names LoRA adapts, e.g. q_proj,v_proj; empty: peft's default for the model",
    ),
    "report_to": Hyperparameter(
        PAPER.report_to,
        f"experiment tracking: none, or comma-separated {', '.join(TRACKERS[1:])} (the `tracking` extra)",
    ),
    "divergence_loss_ratio": Hyperparameter(
        PAPER.divergence_loss_ratio, "a held-out loss above this × its best fails the run; 0: off", 0.0
    ),
    "collapse_min_questions": Hyperparameter(
        PAPER.collapse_min_questions, "held-out questions needed before an accuracy collapse fails a run", 1
    ),
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
        if spec.choices:
            if value not in spec.choices:
                errors.append(f"{name} must be one of {', '.join(spec.choices)}, got {value!r}")
            else:
                result[name] = value
            continue
        if isinstance(spec.default, str):
            if not isinstance(value, str):
                errors.append(f"{name} must be a text, got {value!r}")
            else:
                result[name] = value.strip()
            continue
        if isinstance(spec.default, bool):
            if not isinstance(value, bool):
                errors.append(f"{name} must be true or false, got {value!r}")
            else:
                result[name] = value
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
    if not errors:
        try:  # the library's own checks, e.g. batch_size a multiple of gradient_accumulation_steps
            TrainConfig(**result)
        except ValueError as exc:
            errors.append(str(exc))
    if errors:
        raise ValidationError({"hyperparameters": errors})
    return result


def hyperparameter_help() -> str:
    return "; ".join(
        f"{name} ({spec.help}, default {spec.default})" for name, spec in HYPERPARAMETERS.items()
    )
