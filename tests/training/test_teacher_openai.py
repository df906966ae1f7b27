"""The HTTP teacher against a real OpenAI-compatible server on loopback."""

import json
import socket
import time

import pytest

from tests.training.openai_server import OpenAIServer
from training.prompts import explain_draws, explain_prompt
from training.teacher import (
    Decoding,
    TeacherError,
    TeacherRequest,
    TeacherSpec,
    TeacherUnavailableError,
    UnknownModelError,
)
from training.teacher_factory import build_teacher
from training.teacher_openai import OpenAITeacher


def requests_for(sample_questions):
    return [
        TeacherRequest(explain_prompt(q, q.answer_key, explain_draws(0, q.id)), q.id, "explanation")
        for q in sample_questions
    ]


def http_teacher(server, **options) -> OpenAITeacher:
    spec = TeacherSpec(
        backend="openai",
        model="test-model",
        base_url=server.url,
        endpoint=options.pop("endpoint", "chat"),
        decoding=options.pop("decoding", {"max_new_tokens": 40}),
        options={"backoff_s": 0.01, **options},
    )
    return build_teacher(spec)


def test_chat_endpoint_sends_messages_and_returns_texts_with_usage(openai_server, sample_questions):
    teacher = http_teacher(openai_server, max_in_flight=1)  # requests arrive in order
    completions = teacher.complete(requests_for(sample_questions))
    # The server answers with the last line of the last user turn, the given answer line; the stop sequence
    # "\n\n" leaves the second line of its answer in place (only the first line is kept later).
    assert [c.text.splitlines()[0] for c in completions] == [
        "Answer to: The answer is (a) cupboard.",
        "Answer to: The answer is (b) scissors.",
        "Answer to: The answer is (c) someone pedaling.",
    ]
    assert all(c.error == "" and c.prompt_tokens > 100 and c.completion_tokens > 3 for c in completions)
    body = openai_server.requests[0]["body"]
    assert openai_server.requests[0]["path"] == "/v1/chat/completions"
    assert body["model"] == "test-model" and body["max_tokens"] == 40 and body["temperature"] == 0
    assert body["stop"] == ["\n\n"]
    assert [m["role"] for m in body["messages"]][:3] == ["system", "user", "assistant"]
    assert teacher.render(requests_for(sample_questions[:1])[0].prompt) == json.dumps(
        body["messages"], ensure_ascii=False
    )


def test_completions_endpoint_sends_the_prompt_text(openai_server, sample_questions):
    teacher = http_teacher(openai_server, endpoint="completions")
    [completion] = teacher.complete(requests_for(sample_questions[:1]))
    body = openai_server.requests[0]["body"]
    assert openai_server.requests[0]["path"] == "/v1/completions"
    assert body["prompt"].endswith("The answer is (a) cupboard.\nExplanation:")
    assert completion.text == "Answer to: Explanation:\nA second line that is not kept."


def test_429_and_500_answers_are_retried_until_success(openai_server, sample_questions):
    openai_server.fail_next(1, 429, "rate limited")
    openai_server.fail_next(1, 500, "server hiccup")
    teacher = http_teacher(openai_server, max_in_flight=1)
    [completion] = teacher.complete(requests_for(sample_questions[:1]))
    assert completion.error == "" and completion.text.startswith("Answer to:")
    assert len(openai_server.requests) == 3


def test_a_request_that_keeps_failing_fails_alone(openai_server, sample_questions):
    openai_server.fail_next(3, 503, "overloaded")
    teacher = http_teacher(openai_server, max_in_flight=1, max_retries=2)
    failed, ok = teacher.complete(requests_for(sample_questions[:2]))
    assert failed.error == "HTTP 503: overloaded (gave up after 3 attempts)"
    assert ok.error == "" and ok.text


def test_a_slow_answer_times_out_and_is_retried(openai_server, sample_questions):
    openai_server.slow_next(2, 1.5)
    teacher = http_teacher(openai_server, timeout_s=0.2, max_retries=1, max_in_flight=1)
    started = time.monotonic()
    [completion] = teacher.complete(requests_for(sample_questions[:1]))
    assert completion.error == "no answer within 0.2 s (gave up after 2 attempts)"
    assert time.monotonic() - started < 1.5  # the client never waited for a slow answer
    openai_server.slow_next(1, 1.5)
    [completion] = teacher.complete(requests_for(sample_questions[:1]))  # slow once, then answered
    assert completion.error == "" and completion.text


def test_requests_in_flight_are_bounded(sample_questions):
    with OpenAIServer(delay_s=0.1) as server:
        teacher = http_teacher(server, max_in_flight=3)
        completions = teacher.complete(requests_for(sample_questions * 3))
    assert len(completions) == 9 and all(c.text for c in completions)
    assert server.max_in_flight == 3


def test_closed_port_is_a_clear_error(sample_questions):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    teacher = OpenAITeacher(base_url=f"http://127.0.0.1:{port}/v1", model="test-model")
    with pytest.raises(
        TeacherUnavailableError, match=rf"cannot reach the teacher server at http://127.0.0.1:{port}/v1"
    ):
        teacher.complete(requests_for(sample_questions[:1]))


def test_unknown_model_is_a_clear_error_that_lists_the_served_models(openai_server, sample_questions):
    teacher = OpenAITeacher(base_url=openai_server.url, model="llama-9000", decoding=Decoding())
    with pytest.raises(
        UnknownModelError, match=r"does not know the model 'llama-9000'.*it serves: test-model"
    ):
        teacher.complete(requests_for(sample_questions))


def test_api_key_comes_from_the_named_environment_variable(sample_questions, monkeypatch):
    with OpenAIServer(api_key="sk-local") as server:
        spec = TeacherSpec(
            backend="openai", model="test-model", base_url=server.url, api_key_env="TEACHER_KEY"
        )
        with pytest.raises(TeacherError, match="environment variable TEACHER_KEY, which is not set"):
            build_teacher(spec)
        monkeypatch.setenv("TEACHER_KEY", "sk-wrong")
        with pytest.raises(TeacherError, match="refused the request \\(HTTP 401"):
            build_teacher(spec).complete(requests_for(sample_questions[:1]))
        monkeypatch.setenv("TEACHER_KEY", "sk-local")
        [completion] = build_teacher(spec).complete(requests_for(sample_questions[:1]))
        assert completion.text and server.requests[-1]["headers"]["Authorization"] == "Bearer sk-local"
