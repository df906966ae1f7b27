"""Decoder-only students: packed rows without padding, the completion-only (or prompt + completion) loss, every
method trained in full and with LoRA, resuming after an interruption, and parsed predictions."""

import importlib.util
import json
import shutil
from dataclasses import replace
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file
from transformers import DataCollatorForLanguageModeling

from tests.training.conftest import train_until_stopped
from training.batching import IGNORE_INDEX
from training.causal import PackedCausalCollator, causal_loss, tokenize_causal_data
from training.config import METHODS, TrainConfig
from training.examples import build_training_data, tokenizer_corpus
from training.formats import TASKS
from training.inference import (
    CHECKPOINT_INFO,
    GenerationSettings,
    generate_texts,
    load_checkpoint,
    predict,
    score_targets,
)
from training.students import load_student
from training.trainer import tracking_integrations, train

CAUSAL = {
    "student": "random:llama-tiny",
    "learning_rate": 3e-3,
    "max_steps": 12,
    "eval_every": 12,
    "logging_every": 3,
    "max_new_tokens": 24,
    "answer_max_new_tokens": 12,
    "score_unmatched_answers": True,
}

ALL_LINEAR = "q_proj,k_proj,v_proj,o_proj,gate_proj,up_proj,down_proj"


@pytest.fixture(scope="module")
def causal_config(tiny_config):
    def make(**overrides) -> TrainConfig:
        return tiny_config(**(CAUSAL | overrides))

    return make


def losses_of(result) -> list[float]:
    return [entry["loss"] for entry in result.history if "loss" in entry]


@pytest.fixture(scope="module")
def tiny_causal(causal_config, questions, teacher):
    """A random tiny Llama (float64, so packed and padded passes agree to rounding) and a 3-question batch of the
    combined method, which has all four tasks."""
    config = causal_config(method="multitask_counterfactual")
    torch.manual_seed(0)
    student = load_student(
        config.student, corpus=tokenizer_corpus(questions, teacher), cache_dir=config.cache_dir
    )
    student.model.double().eval()
    data = build_training_data(questions[:3], teacher, config)
    dataset = tokenize_causal_data(
        data, student.tokenizer, max_length=config.max_length, label_max_length=64, chat_template=False
    )
    return config, student, [dataset[i] for i in range(len(dataset))]


def test_a_packed_row_has_no_padding_and_no_attention_across_sequences(tiny_causal):
    config, student, items = tiny_causal
    batch = PackedCausalCollator(task_weights=config.task_weights(), loss_on_prompt=False)(items)
    segments = [segment for item in items for segment in item]
    lengths = [len(s.input_ids) + len(s.labels) for s in segments]
    assert batch["input_ids"].shape == (1, sum(lengths))  # not a single pad token
    assert batch["position_ids"][0].tolist() == [p for n in lengths for p in range(n)]
    # Labels: the completion tokens (and EOS), each predicted from the position before it, never across sequences.
    assert int((batch["labels"] != IGNORE_INDEX).sum()) == sum(len(s.labels) for s in segments)
    assert all(s.labels[-1] == student.tokenizer.eos_token_id for s in segments)

    packed = student.model(
        input_ids=batch["input_ids"], position_ids=batch["position_ids"], use_cache=False
    ).logits[0]
    offset = 0
    for segment, length in zip(segments, lengths, strict=True):
        alone = student.model(torch.tensor([segment.input_ids + segment.labels]), use_cache=False).logits[0]
        torch.testing.assert_close(packed[offset : offset + length], alone, rtol=0, atol=1e-9)
        offset += length


def padded_task_batches(items, *, pad_token_id: int, loss_on_prompt: bool) -> dict[int, dict]:
    """One right-padded batch per task, in the usual layout: prompt + completion, labels masked on the prompt
    (or, with `loss_on_prompt`, DataCollatorForLanguageModeling's labels: every non-pad token)."""
    by_task: dict[int, list] = {}
    for item in items:
        for segment in item:
            by_task.setdefault(segment.task, []).append(segment)
    batches = {}
    for task, segments in by_task.items():
        rows = [s.input_ids + s.labels for s in segments]
        width = max(map(len, rows))
        input_ids = torch.tensor([row + [pad_token_id] * (width - len(row)) for row in rows])
        attention = torch.tensor([[1] * len(row) + [0] * (width - len(row)) for row in rows])
        if loss_on_prompt:
            labels = input_ids.masked_fill(attention == 0, IGNORE_INDEX)
        else:
            labels = torch.tensor(
                [
                    [IGNORE_INDEX] * len(s.input_ids) + s.labels + [IGNORE_INDEX] * (width - len(row))
                    for s, row in zip(segments, rows, strict=True)
                ]
            )
        batches[task] = {"input_ids": input_ids, "attention_mask": attention, "labels": labels}
    return batches


@pytest.mark.parametrize("loss_on_prompt", [False, True])
def test_the_packed_loss_is_the_weighted_loss_of_one_padded_pass_per_task(tiny_causal, loss_on_prompt):
    config, student, items = tiny_causal
    weights = config.task_weights()
    batch = PackedCausalCollator(task_weights=weights, loss_on_prompt=loss_on_prompt)(items)
    with torch.no_grad():
        packed = float(causal_loss(student.model, batch))
        separate = hf_loss = 0.0
        for task, task_batch in padded_task_batches(
            items, pad_token_id=student.tokenizer.pad_token_id, loss_on_prompt=loss_on_prompt
        ).items():
            outputs = student.model(**task_batch)
            # The causal LM loss in float64 (transformers' own casts the logits to float32): shifted labels.
            shifted = torch.nn.functional.cross_entropy(
                outputs.logits[:, :-1].flatten(0, 1), task_batch["labels"][:, 1:].flatten()
            )
            separate += weights[TASKS[task]] * float(shifted)
            hf_loss += weights[TASKS[task]] * float(outputs.loss)
    assert abs(packed - separate) < 1e-6  # the per-token weights w_task / n_task are float32
    assert abs(packed - hf_loss) < 1e-5
    if loss_on_prompt:
        # The study's extension: DataCollatorForLanguageModeling (mlm=False) labels the padded rows the same way.
        collator = DataCollatorForLanguageModeling(student.tokenizer, mlm=False)
        rows = [{"input_ids": s.input_ids + s.labels} for s in items[0] if s.task == 0]
        assert torch.equal(
            collator(rows)["labels"],
            padded_task_batches(items[:1], pad_token_id=student.tokenizer.pad_token_id, loss_on_prompt=True)[
                0
            ]["labels"],
        )


@pytest.mark.parametrize("lora", [False, True], ids=["full", "lora"])
@pytest.mark.parametrize("method", METHODS)
def test_each_method_trains_a_causal_student_and_predicts(
    method, lora, tmp_path, causal_config, questions, validation_questions, teacher
):
    # LoRA adapts a random base slowly: a higher learning rate, and a smaller drop asked of it.
    config = causal_config(method=method, learning_rate=3e-3)
    if lora:
        config = replace(config, lora_rank=8, lora_target_modules=ALL_LINEAR, learning_rate=3e-2)
    result = train(
        config, train_questions=questions, eval_questions=questions[:3], teacher=teacher, output_dir=tmp_path
    )
    losses = losses_of(result)
    assert result.status == "completed" and result.global_step == config.max_steps
    assert losses[-1] < (0.985 if lora else 0.9) * losses[0], losses
    assert result.environment["causal"] and result.environment["packed"]
    assert result.environment["lora"] is lora and result.environment["peft"]
    assert any("eval_loss" in entry for entry in result.history)
    checkpoint = Path(result.last_checkpoint)
    info = json.loads((checkpoint / CHECKPOINT_INFO).read_text())
    assert (info["method"], info["step"]) == (method, config.max_steps)
    if lora:  # only the adapter is saved: a few hundred kB here, never the whole model
        adapter = load_file(checkpoint / "adapter_model.safetensors")
        assert any(
            ".lora_B." in name and tensor.abs().sum() > 0 for name, tensor in adapter.items()
        )  # B starts at 0
        assert not (checkpoint / "model.safetensors").exists()
        assert (tmp_path / "base-model" / "model.safetensors").is_file()  # the random base, for inference
    else:
        assert (checkpoint / "model.safetensors").is_file()

    records = predict(result.last_checkpoint, validation_questions[:3])
    assert [r.question_id for r in records] == [q.id for q in validation_questions[:3]]
    assert all(r.mode == config.resolved_inference_mode for r in records)
    assert all(r.parse_rule in ("exact", "letter", "closest", "scored") for r in records)
    assert all(r.predicted_label in "ABCDE" and r.predicted_label for r in records)


def test_a_lora_checkpoint_predicts_like_the_trained_adapter(tmp_path, causal_config, questions, teacher):
    """Base + adapter, merged at load, gives what the model held in training gave."""
    config = causal_config(method="multitask", lora_rank=4, learning_rate=1e-2, max_steps=6, eval_every=6)
    result = train(config, train_questions=questions, eval_questions=[], teacher=teacher, output_dir=tmp_path)
    student, info = load_checkpoint(result.last_checkpoint)
    assert info["config"]["lora_rank"] == 4 and not hasattr(student.model, "peft_config")  # merged
    texts = [f"[explain] Question: {q.question}\nChoices: (a) x" for q in questions[:4]]
    settings = GenerationSettings(batch_size=4, max_new_tokens=10)
    # Batched (left-padded) and one at a time give the same greedy outputs.
    batched = generate_texts(student.model, student.tokenizer, texts, max_new_tokens=10, settings=settings)
    single = [
        generate_texts(student.model, student.tokenizer, [t], max_new_tokens=10, settings=settings)[0]
        for t in texts
    ]
    assert batched == single
    assert (
        score_targets(student.model, student.tokenizer, [], [], settings=settings) == []
    )  # all answers matched


@pytest.mark.parametrize("lora", [False, True], ids=["full", "lora"])
def test_an_interrupted_causal_run_resumes_to_the_weights_of_an_uninterrupted_one(
    lora, tmp_path, causal_config, questions, teacher
):
    config = causal_config(
        method="multitask", batch_size=4, max_steps=6, eval_every=3, lora_rank=4 if lora else 0
    )
    whole = train(
        config, train_questions=questions, eval_questions=[], teacher=teacher, output_dir=tmp_path / "a"
    )
    stopped, _ = train_until_stopped(
        config,
        stop_after=3,
        train_questions=questions,
        eval_questions=[],
        teacher=teacher,
        output_dir=tmp_path / "b",
    )
    assert (stopped.status, stopped.global_step) == ("stopped", 3)
    # A kill while the next checkpoint was being written leaves a folder without the Trainer's state: skipped.
    half = tmp_path / "b" / "checkpoint-5"
    shutil.copytree(stopped.last_checkpoint, half)
    (half / "trainer_state.json").unlink()
    resumed = train(
        config, train_questions=questions, eval_questions=[], teacher=teacher, output_dir=tmp_path / "b"
    )
    assert (resumed.status, resumed.resumed_from_step, resumed.global_step) == ("completed", 3, 6)
    weights = "adapter_model.safetensors" if lora else "model.safetensors"
    expected = load_file(Path(whole.last_checkpoint) / weights)
    actual = load_file(Path(resumed.last_checkpoint) / weights)
    assert expected.keys() == actual.keys()
    for name in expected:
        torch.testing.assert_close(actual[name], expected[name], rtol=1e-5, atol=1e-6)


def test_bad_lora_settings_are_refused_plainly(causal_config, tmp_path, questions, teacher):
    with pytest.raises(ValueError, match="lora_rank must be at least 0"):
        causal_config(lora_rank=-1)
    with pytest.raises(ValueError, match="report_to must be none or comma-separated mlflow"):
        causal_config(report_to="neptune")
    if importlib.util.find_spec("tensorboard") is None:  # the `tracking` extra is not installed here
        with pytest.raises(
            ValueError, match=r"report_to names tensorboard, which is not installed: pip install"
        ):
            tracking_integrations(causal_config(report_to="tensorboard"))
    assert tracking_integrations(causal_config()) == "none"
    with pytest.raises(ValueError, match="Module names of this model: .*q_proj"):
        train(
            causal_config(lora_rank=4, lora_target_modules="query"),
            train_questions=questions,
            eval_questions=[],
            teacher=teacher,
            output_dir=tmp_path,
        )


@pytest.mark.slow
def test_a_smollm2_student_learns_with_lora_and_answers(tmp_path, questions, validation_questions, teacher):
    """The bundled SmolLM2-135M-Instruct as a LoRA student: two steps lower its loss, and it predicts."""
    config = TrainConfig(
        student="smollm2",
        method="multitask",
        batch_size=4,
        learning_rate=1e-3,
        max_steps=2,
        eval_every=2,
        logging_every=1,
        lora_rank=8,
        lora_target_modules="q_proj,v_proj",
        max_new_tokens=24,
        answer_max_new_tokens=12,
        no_repeat_ngram_size=3,
    )
    result = train(
        config, train_questions=questions[:8], eval_questions=[], teacher=teacher, output_dir=tmp_path
    )
    losses = losses_of(result)
    assert result.status == "completed" and losses[-1] < losses[0], losses
    adapter = Path(result.last_checkpoint) / "adapter_model.safetensors"
    assert adapter.stat().st_size < 5_000_000  # the adapter, not the 540 MB model
    records = predict(result.last_checkpoint, validation_questions[:2])
    assert len(records) == 2 and all(r.explanation for r in records)
