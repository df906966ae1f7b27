"""The packaged SmolLM2-135M-Instruct GGUF as a real teacher: converted once, then real explanations."""

import pytest

from training.generation import Generation, GenerationConfig
from training.gguf_models import SMOLLM2, converted_gguf, smollm2_gguf
from training.teacher import TeacherSpec
from training.teacher_factory import build_teacher


@pytest.fixture
def restore_torch_threads():
    import torch

    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)  # the teacher's `threads` option is process-wide


@pytest.mark.slow
def test_smollm2_writes_explanations_for_two_questions(sample_questions, restore_torch_threads):
    # One CPU thread: on cores shared with other jobs, two threads can be several times slower than one.
    spec = TeacherSpec(
        backend="transformers", model=SMOLLM2, decoding={"max_new_tokens": 20}, options={"threads": 1}
    )
    teacher = build_teacher(spec)
    assert (converted_gguf(smollm2_gguf()) / "model.safetensors").is_file()  # the cached copy it loaded
    # Three worked examples instead of seven keep the CPU prefill short; the prompt is otherwise the paper's.
    generation = Generation(sample_questions[:2], teacher, GenerationConfig("explain", explain_examples=3))
    records = [r for batch in generation for r in batch]
    assert [r.id for r in records] == ["q-cup", "q-scissors"]
    for record in records:
        assert record.prompt.startswith("<|im_start|>system\nEach question below")  # SmolLM2's chat template
        assert record.prompt.endswith("<|im_end|>\n<|im_start|>assistant\n")
        assert len(record.text.split()) >= 3, record.text  # words, not an empty or broken answer
        assert 0 < record.usage["completion_tokens"] <= 20 and record.usage["prompt_tokens"] > 250
    assert records[0].params["teacher"]["weights"] == smollm2_gguf().name
