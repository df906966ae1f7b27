"""Named presets of training settings: `project` (the library's defaults) and `paper` (the study's code).

A preset is plain values over `TrainConfig`'s fields, chosen per method where the study's code differs per
method; each value is also its own option, and options given explicitly win over the preset. The differences and
their reasons are listed in training/README.md ("Presets").
"""

PRESETS = ("project", "paper")
PAPER_FIRST_SEED_STEPS = 10_000  # the study's seed-0 runs trained twice as long as seeds 1–5
# The study's extension trains decoder-only students (Qwen3-0.6B) with these: 8 questions a micro-batch, 4
# micro-batches an optimizer step, 1,024 tokens, AdamW 5e-5, an evaluation every 250 steps.
EXTENSION_CAUSAL_MICRO_BATCH = 8
EXTENSION_CAUSAL_SETTINGS = {
    "gradient_accumulation_steps": 4,
    "max_length": 1024,
    "learning_rate": 5e-5,
    "eval_every": 250,
}


def causal_student_settings(
    *,
    micro_batch: int = EXTENSION_CAUSAL_MICRO_BATCH,
    gradient_accumulation_steps: int = EXTENSION_CAUSAL_SETTINGS["gradient_accumulation_steps"],
    max_length: int = EXTENSION_CAUSAL_SETTINGS["max_length"],
    learning_rate: float = EXTENSION_CAUSAL_SETTINGS["learning_rate"],
    eval_every: int = EXTENSION_CAUSAL_SETTINGS["eval_every"],
) -> dict:
    """The settings of a decoder-only student's runs (the extension's by default); `batch_size` is questions
    per optimizer step, so micro-batch × accumulation."""
    return {
        "batch_size": micro_batch * gradient_accumulation_steps,
        "gradient_accumulation_steps": gradient_accumulation_steps,
        "max_length": max_length,
        "learning_rate": learning_rate,
        "eval_every": eval_every,
    }


def preset_settings(name: str, method: str, *, causal: bool = False) -> dict:
    """The settings `name` gives a run of `method` (the project's preset adds nothing to the defaults); a causal
    student's paper runs also take the extension's loss over prompt and completion (`loss_on_prompt`)."""
    if name not in PRESETS:
        raise ValueError(f"unknown preset {name!r}; expected one of {PRESETS}")
    if name == "project":
        return {}
    causal_settings = {"loss_on_prompt": True} if causal else {}
    return causal_settings | {
        "formats": "paper",
        # Only the combined method's factual target is the gold option's explanation in the study's code.
        "factual_explanation": "gold_option" if method == "multitask_counterfactual" else "variant",
        "wrong_option": "first" if method == "counterfactual" else "first_wrong",
        "evaluated_checkpoint": "final",
        "label_max_length": 256 if method == "counterfactual" else 300,
    }
