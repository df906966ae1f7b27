"""Training settings: the paper's defaults, each method's loss weights, every bad value named."""

from dataclasses import fields

import pytest

from training.config import ConfigError, TrainConfig, allowed_values


def test_defaults_are_the_papers():
    config = TrainConfig()
    paper = {
        "learning_rate": 5e-5,
        "batch_size": 48,
        "max_steps": 5000,
        "max_length": 300,
        "seed": 0,
        "alpha": 0.5,
        "beta": 0.5,
        "gamma": 0.5,
        "counterfactuals_per_question": 1,
    }
    assert {name: getattr(config, name) for name in paper} == paper


@pytest.mark.parametrize(
    ("method", "weights"),
    [
        ("standard", {"predict": 1.0}),
        ("multitask", {"predict": 0.2, "explain": 0.8}),
        ("counterfactual", {"factual": 1.0, "counterfactual": 1.0}),
        (
            "multitask_counterfactual",
            {"predict": 0.06, "explain": 0.24, "factual": 0.49, "counterfactual": 0.21},
        ),
    ],
)
def test_each_method_weights_its_task_losses(method, weights):
    config = TrainConfig(method=method, alpha=0.2, beta=0.7, gamma=0.3)
    assert config.task_weights() == pytest.approx(weights)


def test_the_combined_method_weighs_each_task_a_quarter_at_the_studys_settings():
    # γ·[α·L_pred + (1−α)·L_expl] + (1−γ)·[β·L_factual + (1−β)·L_cf] with α = β = γ = 0.5
    config = TrainConfig(method="multitask_counterfactual", alpha=0.5, beta=0.5, gamma=0.5)
    assert config.task_weights() == {
        "predict": 0.25,
        "explain": 0.25,
        "factual": 0.25,
        "counterfactual": 0.25,
    }


def test_bad_settings_are_all_named_at_once():
    with pytest.raises(ValueError) as error:
        TrainConfig(method="distil", gamma=1.5, batch_size=10, gradient_accumulation_steps=4)
    message = str(error.value)
    assert "method must be one of" in message and "gamma must be at least 0 and at most 1, got 1.5" in message
    assert "batch_size 10 is not a multiple of gradient_accumulation_steps 4" in message
    with pytest.raises(
        ValueError, match="counterfactuals_per_question must be at least 1 and at most 4, got 5"
    ):
        TrainConfig(method="counterfactual", counterfactuals_per_question=5)


def _outside(metadata) -> list:
    """Values just outside what a field's metadata allows."""
    if "choices" in metadata:
        return ["no-such-choice"]
    values = [metadata["minimum"] - 1] if "minimum" in metadata else []
    values += [metadata["above"]] if "above" in metadata else []
    values += [metadata["maximum"] + 1] if "maximum" in metadata else []
    return values + ([metadata["below"]] if "below" in metadata else [])


RULED = [spec for spec in fields(TrainConfig) if _outside(spec.metadata)]


@pytest.mark.parametrize("spec", RULED, ids=[spec.name for spec in RULED])
def test_each_fields_metadata_is_the_rule_the_config_enforces(spec):
    """The range or choices in a field's metadata are what TrainConfig refuses, and the message says so."""
    for value in _outside(spec.metadata):
        value = type(spec.default)(value) if isinstance(spec.default, int | float) else value
        with pytest.raises(ConfigError) as refused:
            TrainConfig(**{spec.name: value})
        assert refused.value.problems == (
            (spec.name, f"{spec.name} must be {allowed_values(spec.metadata)}, got {value!r}"),
        )
    if "off" in spec.metadata:
        assert getattr(TrainConfig(**{spec.name: spec.metadata["off"]}), spec.name) == spec.metadata["off"]
