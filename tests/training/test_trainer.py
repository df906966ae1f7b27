"""Training tiny random T5 students: every method learns, runs resume exactly, divergence stops a run."""

import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file
from transformers import TrainerControl, TrainerState

from tests.training.conftest import train_until_stopped
from training.config import METHODS
from training.inference import CHECKPOINT_INFO, load_checkpoint
from training.trainer import RunMonitor, accuracy_collapse_reason, eval_loss_divergence_reason, train


def logged_losses(result) -> list[float]:
    return [entry["loss"] for entry in result.history if "loss" in entry]


@pytest.mark.parametrize("method", METHODS)
def test_each_method_lowers_its_loss(method, tmp_path, tiny_config, questions, teacher):
    config = tiny_config(method=method, max_steps=24, eval_every=24, logging_every=4)
    result = train(config, train_questions=questions, eval_questions=[], teacher=teacher, output_dir=tmp_path)
    losses = logged_losses(result)
    assert result.status == "completed" and result.global_step == config.max_steps
    assert losses[-1] < 0.7 * losses[0], losses
    # The run is recorded: settings, libraries, speed, memory; its last checkpoint knows what it was trained for.
    assert result.config["method"] == method and result.environment["transformers"]
    assert result.environment["packed"] is True and result.environment["per_device_batch_size"] == 6
    assert result.steps_per_second > 0 and result.peak_memory_bytes > 0
    info = json.loads((Path(result.last_checkpoint) / CHECKPOINT_INFO).read_text())
    assert (info["method"], info["data_variant"], info["step"]) == (method, "unrevised", config.max_steps)


def test_a_run_set_to_bf16_trains_on_the_cpu_and_its_checkpoint_predicts_in_bf16(
    tmp_path, tiny_config, questions, teacher
):
    config = tiny_config(max_steps=2, eval_every=2, bf16=True)
    result = train(config, train_questions=questions, eval_questions=[], teacher=teacher, output_dir=tmp_path)
    assert result.status == "completed" and result.environment["bf16"] is True
    assert all(torch.isfinite(torch.tensor(logged_losses(result))))
    student, _ = load_checkpoint(result.last_checkpoint, device="cpu")
    assert next(student.model.parameters()).dtype == torch.bfloat16
    float32_run = train(
        tiny_config(max_steps=2, eval_every=2),
        train_questions=questions,
        eval_questions=[],
        teacher=teacher,
        output_dir=tmp_path / "float32",
    )
    student, _ = load_checkpoint(float32_run.last_checkpoint, device="cpu")
    assert next(student.model.parameters()).dtype == torch.float32


def test_multitask_student_answers_every_question_of_a_small_task(trained_multitask):
    result, handful = trained_multitask
    assert result.best_eval_accuracy == 1.0
    assert [e["eval_accuracy"] for e in result.history if "eval_accuracy" in e][-1] == 1.0
    assert logged_losses(result)[-1] < 0.5 * logged_losses(result)[0]
    # Only the best and the last checkpoints are kept.
    kept = sorted(p.name for p in Path(result.output_dir).glob("checkpoint-*"))
    assert Path(result.best_checkpoint).name in kept and Path(result.last_checkpoint).name == "checkpoint-60"
    assert result.best_step in (30, 60) and result.last_step == 60
    assert len(kept) <= 2


def test_a_stopped_run_resumes_to_the_same_weights_as_an_uninterrupted_one(
    tmp_path, tiny_config, questions, teacher
):
    # 12 questions in batches of 4: three batches an epoch, so the stop at step 4 falls inside an epoch.
    config = tiny_config(method="multitask", batch_size=4, max_steps=8, eval_every=4)
    whole = train(
        config, train_questions=questions, eval_questions=[], teacher=teacher, output_dir=tmp_path / "a"
    )

    stopped, seen = train_until_stopped(
        config,
        stop_after=4,
        train_questions=questions,
        eval_questions=[],
        teacher=teacher,
        output_dir=tmp_path / "b",
    )
    assert (stopped.status, stopped.global_step) == ("stopped", 4)
    assert Path(stopped.last_checkpoint).name == "checkpoint-4"
    assert [p.step for p in seen] == [1, 2, 3, 4] and {p.total_steps for p in seen} == {8}
    assert seen[-1].eta_seconds > 0 and seen[-1].loss is not None

    resumed = train(
        config, train_questions=questions, eval_questions=[], teacher=teacher, output_dir=tmp_path / "b"
    )
    assert (resumed.status, resumed.resumed_from_step, resumed.global_step) == ("completed", 4, 8)
    expected = load_file(Path(whole.last_checkpoint) / "model.safetensors")
    actual = load_file(Path(resumed.last_checkpoint) / "model.safetensors")
    assert expected.keys() == actual.keys()
    for name in expected:
        torch.testing.assert_close(actual[name], expected[name], rtol=1e-5, atol=1e-6)


def test_checkpoints_are_written_only_while_allowed_and_cleaned_up_only_among_the_calls_own(
    tmp_path, tiny_config, questions, teacher
):
    """Issue 18: a superseded trainer stops without touching files, and clean-up never deletes a checkpoint
    another call (an earlier attempt) wrote, such as the one this call resumed from."""
    config = tiny_config(method="multitask", batch_size=4, max_steps=10, eval_every=2)
    common = {"train_questions": questions, "eval_questions": [], "teacher": teacher, "output_dir": tmp_path}
    first = train(config, should_stop=lambda: True, **common)  # an earlier attempt, stopped after step 1
    assert (first.status, first.last_step) == ("stopped", 1)

    allowed, asked = [True], []

    def may_write() -> bool:
        asked.append(steps[-1])
        return allowed[0]

    steps: list[int] = []

    def progress(p) -> None:
        steps.append(p.step)
        if p.step == 7:  # another attempt owns the folder from here on
            allowed[0] = False

    second = train(
        config, progress=progress, should_stop=lambda: not allowed[0], may_write=may_write, **common
    )
    assert (second.status, second.resumed_from_step, second.global_step) == ("superseded", 1, 7)
    assert steps == [2, 3, 4, 5, 6, 7]  # stopped at the step it learned it was superseded
    # Saved at 2, 4 and 6, each older own one deleted after the next; at 7 it asked, was refused, wrote nothing.
    assert asked == [2, 4, 4, 6, 6, 7]
    kept = sorted(int(p.name.split("-")[1]) for p in tmp_path.glob("checkpoint-*"))
    assert kept == [1, 6]  # the first call's checkpoint-1 was never the second's to delete
    assert second.last_checkpoint == str(tmp_path / "checkpoint-6")


def test_resuming_with_other_settings_is_refused(tmp_path, tiny_config, questions, teacher):
    train(
        tiny_config(max_steps=2),
        train_questions=questions,
        eval_questions=[],
        teacher=teacher,
        output_dir=tmp_path,
    )
    with pytest.raises(ValueError, match="other settings \\(learning_rate\\)"):
        train(
            tiny_config(max_steps=2, learning_rate=1e-3),
            train_questions=questions,
            eval_questions=[],
            teacher=teacher,
            output_dir=tmp_path,
        )


def test_a_non_finite_loss_stops_the_run_and_keeps_the_last_good_checkpoint(
    tmp_path, tiny_config, questions, teacher
):
    config = tiny_config(learning_rate=1e12, max_steps=20, eval_every=1, logging_every=5)
    result = train(config, train_questions=questions, eval_questions=[], teacher=teacher, output_dir=tmp_path)
    assert result.status == "diverged"
    assert result.divergence_reason.startswith("the training loss became nan at step")
    step = result.global_step
    assert step < config.max_steps
    assert Path(result.last_checkpoint).name == f"checkpoint-{step - 1}"  # the diverged state is never saved


def test_collapsing_held_out_accuracy_is_divergence_when_enough_questions_are_held_out(tiny_config):
    config = tiny_config(collapse_min_accuracy=0.3, collapse_ratio=0.5, collapse_min_questions=20)
    assert accuracy_collapse_reason(0.2, None, 10, config, held_out=40) == ""  # no best yet
    assert accuracy_collapse_reason(0.1, 0.25, 10, config, held_out=40) == ""  # the best never got anywhere
    assert accuracy_collapse_reason(0.4, 0.6, 10, config, held_out=40) == ""  # a drop, not a collapse
    assert "collapsed to 0.250 at step 10 (best 0.600" in accuracy_collapse_reason(
        0.25, 0.6, 10, config, held_out=40
    )
    # The demo's 2 held-out questions: 1 of 2 to 0 of 2 is noise, not a collapse.
    assert accuracy_collapse_reason(0.0, 0.5, 10, config, held_out=2) == ""

    monitor = RunMonitor(config, progress=None, should_stop=None, held_out=40)
    state, control = TrainerState(global_step=10, best_metric=0.6), TrainerControl(should_save=True)
    monitor.on_evaluate(None, state, control, metrics={"eval_accuracy": 0.25})
    assert control.should_training_stop and not control.should_save
    assert monitor.divergence_reason.startswith("held-out accuracy collapsed")


def test_a_held_out_loss_far_above_its_best_or_not_finite_is_divergence(tiny_config):
    config = tiny_config(divergence_loss_ratio=3.0)
    assert eval_loss_divergence_reason(2.0, None, 5, config) == ""  # the first evaluation
    assert eval_loss_divergence_reason(2.9, 1.0, 5, config) == ""  # worse, not diverged
    assert "rose to 3.5000 at step 5 (best 1.0000; the limit is 3.0 × best)" in eval_loss_divergence_reason(
        3.5, 1.0, 5, config
    )
    assert (
        eval_loss_divergence_reason(float("nan"), 1.0, 5, config) == "the held-out loss became nan at step 5"
    )
    assert eval_loss_divergence_reason(99.0, 1.0, 5, tiny_config(divergence_loss_ratio=0)) == ""  # off

    # The monitor keeps the best held-out loss across evaluations, and a resumed run's from its history.
    monitor = RunMonitor(config, progress=None, should_stop=None, held_out=2)
    state = TrainerState(
        global_step=10, log_history=[{"eval_loss": 1.5, "step": 5}, {"eval_loss": 1.2, "step": 10}]
    )
    monitor.on_train_begin(None, state, TrainerControl())
    assert monitor.best_eval_loss == 1.2
    control = TrainerControl(should_save=True)
    # Held-out accuracy from 1 of 2 to 0 of 2 (the demo's case) with a sound loss does not stop the run...
    monitor.on_evaluate(None, state, control, metrics={"eval_accuracy": 0.0, "eval_loss": 1.3})
    assert not control.should_training_stop and control.should_save
    # ... a loss far above its best does.
    monitor.on_evaluate(None, state, control, metrics={"eval_accuracy": 0.5, "eval_loss": 4.0})
    assert control.should_training_stop and not control.should_save
    assert monitor.divergence_reason.startswith("the held-out loss rose to 4.0000 at step 10")


def test_a_run_whose_held_out_loss_explodes_fails_with_the_reason(tmp_path, tiny_config, questions, teacher):
    # A learning rate far too high: the training loss stays finite while the held-out loss soars.
    config = tiny_config(learning_rate=3.0, max_steps=12, eval_every=2, divergence_loss_ratio=1.5)
    result = train(
        config, train_questions=questions, eval_questions=questions[:4], teacher=teacher, output_dir=tmp_path
    )
    assert result.status == "diverged", result.history
    assert result.divergence_reason.startswith("the held-out loss rose to"), result.divergence_reason
    assert result.global_step < config.max_steps
    assert (
        Path(result.last_checkpoint).name == f"checkpoint-{result.global_step - 2}"
    )  # not the diverged state
