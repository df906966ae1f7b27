"""`python -m training generate`: the JSONL store, resuming after kill -9, the cache, bad input."""

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import wait_for
from tests.training.openai_server import OpenAIServer
from training.cli import main
from training.cqa import write_questions
from training.teacher_outputs import read_teacher_file

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def data_dir(tmp_path, sample_questions):
    write_questions(sample_questions, tmp_path / "data" / "cqa_validation.jsonl")
    return tmp_path / "data"


def command(data_dir, out, *extra) -> list[str]:
    """`generate` on the validation split into `out`; `extra` names the teacher and method."""
    return ["generate", "--data", str(data_dir), "--split", "validation", "--out", str(out), *extra]


def generate_args(data_dir, out, server, *extra) -> list[str]:
    return command(
        data_dir,
        out,
        "--teacher", "openai:test-model",
        "--base-url", server.url,
        "--teacher-option", "backoff_s=0.01",
        *extra,
    )  # fmt: skip


def stored_keys(out: Path) -> list[tuple[str, str, str]]:
    return [(r.id, r.kind, r.option_label) for r in read_teacher_file(out)[0]]


def test_generate_writes_records_and_a_rerun_resumes_from_the_file(data_dir, tmp_path, openai_server, capsys):
    out = tmp_path / "out" / "explain.jsonl"
    args = generate_args(data_dir, out, openai_server, "--method", "explain", "--no-cache")
    assert main([*args, "--limit", "2"]) == 0
    assert stored_keys(out) == [("q-cup", "explanation", ""), ("q-scissors", "explanation", "")]
    assert "items 2: 2 generated, 0 already stored, 0 failed | teacher calls 2" in capsys.readouterr().out
    assert main(args) == 0  # the whole split now: only the third question is asked
    assert len(openai_server.requests) == 3 and len(stored_keys(out)) == 3
    assert "items 3: 1 generated, 2 already stored, 0 failed | teacher calls 1" in capsys.readouterr().out


def test_regenerating_into_a_new_file_is_served_by_the_cache(data_dir, tmp_path, openai_server, capsys):
    cache = ["--cache", str(tmp_path / "cache")]
    assert (
        main(
            [
                *generate_args(
                    data_dir, tmp_path / "a.jsonl", openai_server, "--method", "option_explanations"
                ),
                *cache,
            ]
        )
        == 0
    )
    asked = len(openai_server.requests)
    assert (
        main(
            [
                *generate_args(
                    data_dir, tmp_path / "b.jsonl", openai_server, "--method", "option_explanations"
                ),
                *cache,
            ]
        )
        == 0
    )
    assert len(openai_server.requests) == asked == 15
    assert "teacher calls 0, cache hits 15" in capsys.readouterr().out
    assert (tmp_path / "a.jsonl").read_text() == (tmp_path / "b.jsonl").read_text().replace(
        '"cached": true', '"cached": false'
    )


def kill_9_when(args: list[str], ready, *, what: str, timeout: float = 60) -> None:
    """Run `python -m training ARGS` in a subprocess and kill it with SIGKILL once `ready()` holds."""
    process = subprocess.Popen(
        [sys.executable, "-m", "training", *args],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for(ready, timeout=timeout, what=what)
    finally:
        os.kill(process.pid, signal.SIGKILL)
        process.wait()


def test_kill_9_mid_run_then_rerun_finishes_with_each_output_once(data_dir, tmp_path):
    out = tmp_path / "critique_revise.jsonl"
    with OpenAIServer(delay_s=0.3) as server:
        args = generate_args(
            data_dir, out, server, "--method", "critique_revise", "--batch-size", "1", "--no-cache"
        )
        kill_9_when(args, lambda: out.exists() and out.read_text().count("\n") >= 2, what="two records")
        written = out.read_text().count("\n")
        assert 2 <= written < 9
        with open(out, "a") as handle:  # as if the kill had cut a write short
            handle.write('{"id": "q-bike", "kind": "expla')
        asked = len(server.requests)
        assert main(args) == 0
    keys = stored_keys(out)
    assert len(keys) == len(set(keys)) == 9
    assert len(server.requests) - asked == 9 - written  # nothing stored was asked again


def test_kill_9_after_answers_arrived_but_before_they_were_written_reasks_only_the_unanswered(
    data_dir, tmp_path
):
    """Issue 18: every answer is cached as it arrives, so a rerun after a kill pays only for what had no answer."""
    out, cache = tmp_path / "options.jsonl", tmp_path / "cache"
    with OpenAIServer() as server:
        server.slow_next(1, 20.0)  # the first request to arrive is answered late: its batch cannot be written
        args = generate_args(data_dir, out, server, "--method", "option_explanations", "--cache", str(cache))
        kill_9_when(args, lambda: cached_lines(cache) == 14, what="14 of the 15 answers in the cache")
        first = [r["body"] for r in server.requests]
        assert len(first) == 15 and (not out.exists() or out.read_text() == "")  # answered, none written
        never_answered = first[0]

        assert main(args) == 0
        rerun = [r["body"] for r in server.requests[len(first) :]]
    assert rerun == [never_answered]  # the request log: only the one request that had no answer
    keys = stored_keys(out)
    assert len(keys) == len(set(keys)) == 15


def cached_lines(folder: Path) -> int:
    return sum(path.read_text().count("\n") for path in folder.glob("*.jsonl"))


def test_a_bad_data_file_is_reported_by_line_and_nothing_is_written(tmp_path, openai_server, capsys):
    data = tmp_path / "bad.jsonl"
    data.write_text('{"id": "q1", "question": "Why?", "choices": ["a", "b"], "answer": "a"}\n{broken\n')
    out = tmp_path / "out.jsonl"
    assert main(generate_args(data, out, openai_server, "--method", "explain")) == 2
    error = capsys.readouterr().err
    assert f"{data}:1: choices: expected 5 choices, got 2" in error and f"{data}:2: invalid JSON" in error
    assert not out.exists() and openai_server.requests == []


def test_an_unreachable_teacher_stops_the_run_with_a_clear_error(data_dir, tmp_path, capsys):
    out = tmp_path / "out.jsonl"
    args = command(
        data_dir,
        out,
        "--method", "explain",
        "--teacher", "openai:test-model",
        "--base-url", "http://127.0.0.1:9/v1",
        "--no-cache",
    )  # fmt: skip
    assert main(args) == 1
    assert (
        "cannot reach the teacher server at http://127.0.0.1:9/v1/chat/completions" in capsys.readouterr().err
    )
    assert out.read_text() == ""


def test_teacher_spec_from_a_json_file_with_flag_overrides(data_dir, tmp_path, openai_server, capsys):
    spec = tmp_path / "teacher.json"
    spec.write_text(
        json.dumps(
            {
                "backend": "openai",
                "model": "test-model",
                "base_url": "http://wrong:1/v1",
                "decoding": {"max_new_tokens": 7},
            }
        )
    )
    out = tmp_path / "out.jsonl"
    args = command(
        data_dir,
        out,
        "--method", "explain",
        "--teacher", str(spec),
        "--base-url", openai_server.url,
        "--decoding", "temperature=0.5",
        "--no-cache",
    )  # fmt: skip
    assert main(args) == 0
    body = openai_server.requests[0]["body"]
    assert (body["max_tokens"], body["temperature"], body["seed"]) == (7, 0.5, 0)
    assert main([*args, "--decoding", "nonsense=1"]) == 2
    assert "unknown decoding parameter(s) nonsense; known: " in capsys.readouterr().err
