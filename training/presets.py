"""Named presets of training settings: `project` (the library's defaults) and `paper` (the study's code).

A preset is plain values over `TrainConfig`'s fields, chosen per method where the study's code differs per
method; each value is also its own option, and options given explicitly win over the preset. The differences and
their reasons are listed in training/README.md ("Presets").
"""

PRESETS = ("project", "paper")
PAPER_FIRST_SEED_STEPS = 10_000  # the study's seed-0 runs trained twice as long as seeds 1–5


def preset_settings(name: str, method: str) -> dict:
    """The settings `name` gives a run of `method` (the project's preset adds nothing to the defaults)."""
    if name not in PRESETS:
        raise ValueError(f"unknown preset {name!r}; expected one of {PRESETS}")
    if name == "project":
        return {}
    return {
        "formats": "paper",
        # Only the combined method's factual target is the gold option's explanation in the study's code.
        "factual_explanation": "gold_option" if method == "multitask_counterfactual" else "variant",
        "wrong_option": "first" if method == "counterfactual" else "first_wrong",
        "evaluated_checkpoint": "final",
        "label_max_length": 256 if method == "counterfactual" else 300,
    }
