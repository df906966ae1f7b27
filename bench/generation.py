"""Teacher generation throughput: batching in the transformers teacher, requests in flight in the HTTP teacher.

    .venv/bin/python bench/generation.py [--data ../shared/data/cqa] [--questions 32] [--skip-local]

1. SmolLM2-135M (the packaged GGUF, converted once) writes few-shot explanations for the first N CQA
   validation questions, all in one batched call vs one question at a time: questions/s and the ratio
   (target >= 4x), plus prompt and generated tokens/s to show where the time goes.
2. The HTTP teacher against a local OpenAI-compatible server (its own process) that answers every request after
   a fixed delay: requests/s with N in flight vs one at a time (target >= 0.9 * N).
3. The consistency flag on the recorded LLaMA-2 teacher outputs: how often it fires, and its cost.
Each figure comes from this run; the load average tells how busy the (shared) machine was.
"""

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from training.cqa import LABELS, load_split  # noqa: E402
from training.generation import Generation, GenerationConfig  # noqa: E402
from training.option_support import supported_option  # noqa: E402
from training.teacher import TeacherSpec  # noqa: E402
from training.teacher_factory import build_teacher  # noqa: E402
from training.teacher_outputs import first_line  # noqa: E402


def load_average() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def generate(questions, teacher, batch_size: int | None):
    generation = Generation(questions, teacher, GenerationConfig("explain", batch_size=batch_size))
    started = time.perf_counter()
    records = [record for batch in generation for record in batch]
    return records, time.perf_counter() - started, generation.stats


def bench_local(questions, max_new_tokens: int) -> None:
    import torch

    spec = TeacherSpec(backend="transformers", model="smollm2", decoding={"max_new_tokens": max_new_tokens})
    started = time.perf_counter()
    build_teacher(spec)  # converts the GGUF on first use; the timed load below reads the cached copy
    first_load = time.perf_counter() - started
    started = time.perf_counter()
    teacher = build_teacher(TeacherSpec(**{**spec.to_json(), "options": {"batch_size": len(questions)}}))
    load = time.perf_counter() - started
    print(
        f"[local] SmolLM2-135M, {len(questions)} validation questions, explain prompt (7 examples), greedy, "
        f"max_new_tokens={max_new_tokens}, device={teacher.device}, dtype={teacher.dtype}, "
        f"torch threads={torch.get_num_threads()}"
    )
    print(
        f"[local] load from the cached safetensors copy: {load:.2f} s (first build_teacher this run: {first_load:.1f} s)"
    )
    from training.prompts import explain_draws, explain_prompt
    from training.teacher_transformers import _shared_prefix_length

    rendered = [teacher.render(explain_prompt(q, q.answer_key, explain_draws(0, q.id))) for q in questions]
    ids = teacher.tokenizer(rendered, add_special_tokens=False)["input_ids"]
    print(
        f"[local] prompts of {sum(map(len, ids)) / len(ids):.0f} tokens on average, the first "
        f"{_shared_prefix_length(ids)} shared by all (instruction and worked examples)"
    )
    batched, batched_s, batched_stats = generate(questions, teacher, batch_size=len(questions))
    teacher.batch_size = 1
    alone, alone_s, alone_stats = generate(questions, teacher, batch_size=1)
    for name, seconds, stats in (
        ("batched", batched_s, batched_stats),
        ("one at a time", alone_s, alone_stats),
    ):
        print(
            f"[local] {name:>13}: {seconds:7.1f} s, {len(questions) / seconds:.3f} questions/s, "
            f"{stats.prompt_tokens / seconds:6.0f} prompt tok/s, {stats.completion_tokens / seconds:5.1f} generated tok/s "
            f"({stats.prompt_tokens} prompt + {stats.completion_tokens} generated tokens)"
        )
    same = sum(a.text == b.text for a, b in zip(batched, alone, strict=True))
    print(
        f"[local] batched / one at a time: {alone_s / batched_s:.2f}x (target >= 4x); identical texts {same}/{len(questions)}"
    )
    print(f"[local] sample: {batched[0].text!r}")


def bench_http(questions, delay_s: float, in_flight: list[int], rounds: int) -> None:
    from training.prompts import explain_draws, explain_prompt
    from training.teacher import TeacherRequest

    server = subprocess.Popen(
        [sys.executable, "-m", "tests.training.openai_server", str(delay_s)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        url = server.stdout.readline().strip()
        print(
            f"[http] local OpenAI-compatible server (own process) answering after {delay_s * 1000:.0f} ms, chat endpoint"
        )
        sequential = {}
        for n in in_flight:
            count = min(len(questions), rounds * n)
            spec = TeacherSpec(
                backend="openai", model="test-model", base_url=url, options={"max_in_flight": n}
            )
            # The backend alone: one call with every prompt built beforehand.
            teacher = build_teacher(spec)
            requests = [
                TeacherRequest(explain_prompt(q, q.answer_key, explain_draws(0, q.id)), q.id, "explanation")
                for q in questions[:count]
            ]
            started = time.perf_counter()
            completions = teacher.complete(requests)
            backend_rate = count / (time.perf_counter() - started)
            teacher.close()
            assert not any(c.error for c in completions)
            # End to end: the generation builds prompts, calls the teacher in its preferred batches, makes records.
            teacher = build_teacher(spec)
            _, seconds, stats = generate(questions[:count], teacher, batch_size=None)
            teacher.close()
            assert stats.failures == 0, stats.errors
            rates = {"backend": backend_rate, "generation": count / seconds}
            for name, rate in rates.items():
                ratio = rate / sequential.setdefault(name, rate)
                print(
                    f"[http] {n:3d} in flight, {name:>10}: {count:4d} requests, {rate:7.1f} req/s = "
                    f"{ratio:5.1f}x sequential = {ratio / n:.2f} N (target >= 0.9 N; ideal {n / delay_s:.0f} req/s)"
                )
    finally:
        server.kill()
        server.wait()


def bench_flags(data: Path) -> None:
    questions = {q.id: q for q in load_split(data, "validation")}
    lines = (data / "teacher_llama2_validation.jsonl").read_text(encoding="utf-8").splitlines()
    rows = [json.loads(line) for line in lines]
    started = time.perf_counter()
    gold = other = options_given = options_other = 0
    for row in rows:
        question = questions[row["id"]]
        supported = supported_option(first_line(row["explanation"]), question.choices)
        gold += supported == question.answer_key
        other += supported not in (None, question.answer_key)
        for label, text in zip(LABELS, row["option_explanations"], strict=True):
            supported = supported_option(first_line(text), question.choices)
            options_given += supported == label
            options_other += supported not in (None, label)
    seconds = time.perf_counter() - started
    n = len(rows)
    print(
        f"[flag] LLaMA-2 explanations ({n}, gold given): reads the gold option {gold / n:.1%}, "
        f"another option {other / n:.1%} (flagged), undecided {(n - gold - other) / n:.1%}"
    )
    print(
        f"[flag] LLaMA-2 option explanations ({5 * n}): reads the option given {options_given / (5 * n):.1%}, "
        f"another {options_other / (5 * n):.1%} (flagged); {6 * n / seconds:,.0f} texts/s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "cqa")
    parser.add_argument("--questions", type=int, default=32)
    parser.add_argument("--max-new-tokens", type=int, default=64)
    parser.add_argument("--delay-ms", type=float, default=100)
    parser.add_argument("--in-flight", type=int, nargs="+", default=[1, 8, 32])
    parser.add_argument("--rounds", type=int, default=16, help="HTTP requests per run: rounds x in flight")
    parser.add_argument("--skip-local", action="store_true")
    parser.add_argument("--threads", type=int, help="torch CPU threads (default: torch's choice)")
    args = parser.parse_args()
    if not args.data.is_dir():
        parser.error(f"no data folder at {args.data}: pass --data with cqa_validation.jsonl")
    questions = load_split(args.data, "validation")
    print(f"machine: {os.cpu_count()} CPUs, load average {load_average()}")
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    if not args.skip_local:
        bench_local(questions[: args.questions], args.max_new_tokens)
        print(f"load average {load_average()}")
    bench_http(questions, args.delay_ms / 1000, args.in_flight, args.rounds)
    bench_flags(args.data)
    print(f"load average {load_average()}")


if __name__ == "__main__":
    main()
