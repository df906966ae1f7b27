"""The local transformers teacher with a tiny random causal LM and a tokenizer trained on the fly."""

import pytest

from training.cqa import Question
from training.prompts import critique_revision_draws, explain_draws, explain_prompt, revision_prompt
from training.teacher import Decoding, TeacherError, TeacherRequest, TeacherSpec
from training.teacher_factory import build_teacher
from training.teacher_transformers import TransformersTeacher


def explain_requests(sample_questions):
    return [
        TeacherRequest(
            explain_prompt(q, q.answer_key, explain_draws(0, q.id, examples=2)), q.id, "explanation"
        )
        for q in sample_questions
    ]


@pytest.fixture
def uneven_questions(sample_questions):
    """Prompts of very different lengths, interleaved: short, long, short, long."""
    long = " ".join(["Think about the kitchen shelves and the cupboard doors."] * 12)
    return [
        sample_questions[0],
        Question("q-long-1", f"{long} Where does the cup go?", sample_questions[0].choices, "A"),
        sample_questions[1],
        Question("q-long-2", f"{long} Where else could it go?", sample_questions[0].choices, "B"),
    ]


def test_batched_generation_matches_one_prompt_at_a_time(tiny_lm_dir, uneven_questions):
    teacher = TransformersTeacher(str(tiny_lm_dir), Decoding(max_new_tokens=12), batch_size=4)
    requests = explain_requests(uneven_questions)
    batched = teacher.complete(requests)
    alone = [teacher.complete([request])[0] for request in requests]
    assert batched == alone  # left padding changes nothing
    assert all(c.text and c.completion_tokens == 12 for c in batched)
    lengths = [
        len(teacher.tokenizer(teacher.render(r.prompt), add_special_tokens=False)["input_ids"])
        for r in requests
    ]
    assert [c.prompt_tokens for c in batched] == lengths


def test_micro_batches_group_prompts_of_similar_length_and_share_their_prefix(tiny_lm_dir, uneven_questions):
    teacher = TransformersTeacher(str(tiny_lm_dir), Decoding(max_new_tokens=2), batch_size=2)
    widths = []
    hook = teacher.model.register_forward_pre_hook(
        lambda module, args, kwargs: widths.append(tuple(kwargs["input_ids"].shape)), with_kwargs=True
    )
    try:
        completions = teacher.complete(explain_requests(uneven_questions))
    finally:
        hook.remove()
    short = max(c.prompt_tokens for c in completions[::2])
    long = max(c.prompt_tokens for c in completions[1::2])
    rendered = [teacher.render(r.prompt) for r in explain_requests(uneven_questions[:2])]
    ids = [teacher.tokenizer(text, add_special_tokens=False)["input_ids"] for text in rendered]
    shared = next(i for i, (a, b) in enumerate(zip(*ids, strict=False)) if a != b)  # instruction, examples
    assert shared > 200
    # Per micro-batch: the shared prefix once, then both rows from where they differ (2 new tokens after).
    # The two long prompts go together and the two short ones too: no short prompt is padded to a long one.
    assert [w for w in widths if w[1] > 1] == [
        (1, shared),
        (2, long - shared),
        (1, shared),
        (2, short - shared),
    ]


def test_chat_template_with_the_answer_start_prefilled(tiny_lm_dir, sample_questions):
    cup = sample_questions[0]
    prompt = revision_prompt(
        cup, "Cups go in cupboards.", "It does not say why.", critique_revision_draws(0, cup.id)
    )
    chat = TransformersTeacher(str(tiny_lm_dir))
    assert chat.prompt_format == "chat"
    rendered = chat.render(prompt)
    assert rendered.startswith("<|system|>\nEach question below comes with an answer")
    assert rendered.endswith(
        "Revision request: "
        + prompt.query.rsplit("Revision request: ", 1)[1]
        + "</s>\n<|assistant|>\nThe answer is (a) cupboard."
    )
    completion = TransformersTeacher(str(tiny_lm_dir), prompt_format="completion")
    assert completion.render(prompt) == prompt.as_text()
    assert chat.describe()["prompt_format"] == "chat" and completion.describe()["dtype"] == "float32"


def test_generation_stops_at_a_stop_string_in_the_new_text(tiny_lm_dir, sample_questions):
    requests = explain_requests(sample_questions[:1])
    free = TransformersTeacher(str(tiny_lm_dir), Decoding(max_new_tokens=12, stop=())).complete(requests)[0]
    stop = free.text[4:7]
    assert len(stop) == 3 and stop not in free.text[:4]
    stopped = TransformersTeacher(str(tiny_lm_dir), Decoding(max_new_tokens=12, stop=(stop,))).complete(
        requests
    )[0]
    assert stopped.text == free.text[:4]
    assert stopped.completion_tokens < free.completion_tokens


def test_spec_builds_the_backend_and_a_missing_model_is_a_clear_error(tiny_lm_dir, tmp_path):
    teacher = build_teacher(
        TeacherSpec(
            backend="transformers",
            model=str(tiny_lm_dir),
            decoding={"max_new_tokens": 5},
            options={"batch_size": 3},
        )
    )
    assert (teacher.batch_size, teacher.decoding.max_new_tokens) == (3, 5)
    with pytest.raises(TeacherError, match="cannot load the transformers model"):
        TransformersTeacher(str(tmp_path / "no-such-model"))
    with pytest.raises(TeacherError, match="no GGUF file at"):
        TransformersTeacher(str(tmp_path / "missing.gguf"))
    with pytest.raises(ValueError, match="unknown option\\(s\\) \\['beams'\\]"):
        build_teacher(TeacherSpec(backend="transformers", model=str(tiny_lm_dir), options={"beams": 2}))
