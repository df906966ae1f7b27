"""Teacher data generation: the paper's three methods, cached, resumable and traced.

Methods (`GenerationConfig.method`):
- `explain`: one few-shot explanation per question, the gold answer given;
- `critique_revise`: the explanation, a critique of it, and the explanation revised after the critique;
- `option_explanations`: the explanation prompt with each of the five options given as the answer (the
  wrong options' explanations are the counterfactual ones).

`Generation` yields lists of new `TeacherOutput` records, one list per batch and stage, and leaves storing
them to the caller (the CLI appends them to JSONL, the web app writes rows). To resume, the caller passes the
records it already holds (`stored`): their outputs are neither asked for again nor yielded, and their texts
feed the later stages. A `ResponseCache` additionally makes every teacher response reusable across runs, so
rerunning a finished generation into a fresh store makes no teacher call. Each answer is put in the cache the
moment it arrives, before its batch is complete and handed to the caller: a run killed at any point, and then
run again, asks the teacher only for the requests that had no answer yet, at most the requests that were in
flight (the teacher's `max_in_flight`) plus those never sent.

Every record carries the exact prompt, the teacher's description (backend, model, decoding), the method, the
seed and the seeded draws, its token usage and time, and flags: `empty`, and `other_option` when the text
argues for another option than the one it was written for (`option_support`).
"""

import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial

from .cqa import Question
from .option_support import argues_for_other_option
from .prompts import (
    ANSWER_LABELS,
    CRITIQUE_EXAMPLES,
    EXPLAIN_EXAMPLES,
    REVISION_EXAMPLES,
    Prompt,
    critique_prompt,
    critique_revision_draws,
    explain_draws,
    explain_prompt,
    revision_prompt,
)
from .response_cache import CachedResponse, ResponseCache, cache_key
from .teacher import Completion, Teacher, TeacherRequest
from .teacher_outputs import TeacherOutput, first_line

METHODS = ("explain", "critique_revise", "option_explanations")
KINDS_BY_METHOD = {
    "explain": ("explanation",),
    "critique_revise": ("explanation", "critique", "revised_explanation"),
    "option_explanations": ("option_explanation",),
}
# Kinds whose text argues for an answer option, and so get the consistency check.
ARGUING_KINDS = ("explanation", "revised_explanation", "option_explanation")
MAX_ERRORS_KEPT = 20

Progress = Callable[[int, int], None]
OutputKey = tuple[str, str, str]  # question id, kind, option label


@dataclass(frozen=True)
class GenerationConfig:
    method: str
    seed: int = 0
    # Prompts per teacher call, and so how often records are handed to the caller. None: the teacher's
    # `preferred_batch`, large enough to keep it busy. (With a cache, a killed run loses only the requests in
    # flight, whatever the batch size: each answer is cached as it arrives.)
    batch_size: int | None = None
    explain_examples: int = EXPLAIN_EXAMPLES
    critique_examples: int = CRITIQUE_EXAMPLES
    revision_examples: int = REVISION_EXAMPLES

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ValueError(f"unknown generation method {self.method!r}; expected one of {METHODS}")
        if self.batch_size is not None and self.batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {self.batch_size}")


@dataclass
class GenerationStats:
    items: int = 0  # outputs this generation covers
    already_stored: int = 0  # held by the caller's store, skipped
    generated: int = 0  # new records handed to the caller
    teacher_calls: int = 0
    cache_hits: int = 0
    failures: int = 0
    flagged: dict[str, int] = field(default_factory=dict)
    prompt_tokens: int = 0
    completion_tokens: int = 0
    seconds: float = 0.0
    errors: list[str] = field(default_factory=list)  # the first few failures, for the log

    @property
    def done(self) -> int:
        return self.already_stored + self.generated + self.failures

    def summary(self) -> str:
        flagged = ", ".join(f"{flag} {n}" for flag, n in sorted(self.flagged.items())) or "none"
        return (
            f"items {self.items}: {self.generated} generated, {self.already_stored} already stored, "
            f"{self.failures} failed | teacher calls {self.teacher_calls}, cache hits {self.cache_hits} | "
            f"tokens {self.prompt_tokens} prompt + {self.completion_tokens} completion | flagged: {flagged} | "
            f"{self.seconds:.1f} s"
        )


@dataclass
class _Job:
    question: Question
    option_label: str  # "" except for option explanations
    prompt: Prompt
    draws: dict


@dataclass
class _Stage:
    """One kind of output for one batch of questions: prepared, asked of the teacher, then finished."""

    kind: str
    texts: dict[str, str]  # by question id: the stored ones at first, the new ones added when finished
    pending: list[tuple[_Job, str, str, CachedResponse | None]]  # job, rendered prompt, cache key, cached
    records: list[TeacherOutput] = field(default_factory=list)
    answered: dict[str, CachedResponse] = field(default_factory=dict)  # by cache key, as answers arrive

    def requests(self) -> list[TeacherRequest]:
        return [
            TeacherRequest(job.prompt, job.question.id, self.kind, job.option_label)
            for job, _, _, cached in self.pending
            if cached is None
        ]

    def asked_keys(self) -> list[str]:
        """The cache keys of `requests()`, in the same order."""
        return [key for _, _, key, cached in self.pending if cached is None]


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class Generation:
    """One generation over `questions`; iterate it (once) to run it, storing each list of records it yields.

    The teacher is called from worker threads while this thread builds the prompts of the next batch and makes
    the records of the last one, so the teacher never waits for the bookkeeping; the next batch's call is
    queued behind the current one (or overlaps it, for a teacher with `concurrent_calls` 2). Each answer goes
    to the cache as it arrives, so a killed run loses only the requests in flight; the records not yet handed
    over are made again from the cache by the next run.
    """

    def __init__(
        self,
        questions: Sequence[Question],
        teacher: Teacher,
        config: GenerationConfig,
        *,
        stored: Iterable[TeacherOutput] = (),
        cache: ResponseCache | None = None,
        progress: Progress | None = None,
    ):
        self.questions = list(questions)
        self.teacher = teacher
        self.config = config
        self.cache = cache
        self.progress = progress
        self.kinds = KINDS_BY_METHOD[config.method]
        self.described = teacher.describe()
        self.stats = GenerationStats(
            items=sum(
                len(q.choices) if config.method == "option_explanations" else len(self.kinds)
                for q in self.questions
            )
        )
        ids = {q.id for q in self.questions}
        self.stored: dict[OutputKey, TeacherOutput] = {}
        for output in stored:
            if output.id in ids and output.kind in self.kinds:
                self._check_same_generation(output)
                self.stored[(output.id, output.kind, output.option_label)] = output
        self.stats.already_stored = len(self.stored)

    @property
    def total(self) -> int:
        return self.stats.items

    def _check_same_generation(self, output: TeacherOutput) -> None:
        theirs = {k: output.params.get(k) for k in ("teacher", "method", "seed")}
        ours = {"teacher": self.described, "method": self.config.method, "seed": self.config.seed}
        if theirs != ours:
            raise ValueError(
                f"the store already holds a {output.kind} for question {output.id} from another generation "
                f"({theirs}), not this one ({ours}): store this generation elsewhere"
            )

    def __iter__(self) -> Iterator[list[TeacherOutput]]:
        started = time.monotonic()
        self._report()
        per_stage = (
            max((len(q.choices) for q in self.questions), default=1)
            if self.config.method == "option_explanations"
            else 1
        )
        step = max(1, (self.config.batch_size or self.teacher.preferred_batch) // per_stage)
        batches = (self._stages(self.questions[i : i + step]) for i in range(0, len(self.questions), step))
        asker = ThreadPoolExecutor(self.teacher.concurrent_calls, thread_name_prefix="teacher")
        queue: deque[tuple[Iterator[_Stage], _Stage, Future]] = deque()

        def advance(stages: Iterator[_Stage]) -> None:
            """Prepare the batch's next stage and queue its requests for the teacher."""
            stage = next(stages, None)
            if stage is not None:
                hook = (
                    partial(self._keep_answer, stage, stage.asked_keys()) if self.cache is not None else None
                )
                queue.append((stages, stage, asker.submit(self.teacher.complete, stage.requests(), hook)))

        try:
            advance(next(batches, iter(())))
            while queue:
                stages, stage, answer = queue.popleft()
                if not queue:  # keep the teacher busy: the next batch waits right behind this stage
                    advance(next(batches, iter(())))
                self._finish(stage, answer.result())
                self.stats.generated += len(stage.records)
                if stage.records:
                    yield stage.records
                self._report()  # after the caller stored them: a progress hook that cancels loses nothing
                advance(stages)
        finally:
            asker.shutdown(wait=False, cancel_futures=True)
            self.stats.seconds += time.monotonic() - started

    def _report(self) -> None:
        if self.progress:
            self.progress(self.stats.done, self.stats.items)

    # --- the methods, as stages of a batch; each stage is finished before the generator resumes ---
    def _stages(self, questions: list[Question]) -> Iterator[_Stage]:
        seed, config = self.config.seed, self.config
        styled = {
            q.id: explain_draws(seed, q.id, examples=config.explain_examples, dataset=q.dataset)
            for q in questions
        }
        if config.method == "option_explanations":
            yield self._prepare(
                "option_explanation",
                [
                    _Job(q, label, explain_prompt(q, label, styled[q.id]), styled[q.id])
                    for q in questions
                    for label in q.labels
                ],
            )
            return
        explained = self._prepare(
            "explanation",
            [_Job(q, "", explain_prompt(q, q.answer_key, styled[q.id]), styled[q.id]) for q in questions],
        )
        yield explained
        if config.method == "explain":
            return
        draws = {
            q.id: critique_revision_draws(
                seed,
                q.id,
                critique_examples=config.critique_examples,
                revision_examples=config.revision_examples,
                dataset=q.dataset,
            )
            for q in questions
        }
        explanations = explained.texts
        critiqued = self._prepare(
            "critique",
            [
                _Job(q, "", critique_prompt(q, explanations.get(q.id, ""), draws[q.id]), draws[q.id])
                for q in self._with_inputs(questions, "critique", explanations)
            ],
        )
        yield critiqued
        critiques = critiqued.texts
        yield self._prepare(
            "revised_explanation",
            [
                _Job(
                    q,
                    "",
                    revision_prompt(q, explanations.get(q.id, ""), critiques.get(q.id, ""), draws[q.id]),
                    draws[q.id],
                )
                for q in self._with_inputs(questions, "revised_explanation", explanations, critiques)
            ],
        )

    def _with_inputs(self, questions: list[Question], kind: str, *inputs: dict[str, str]) -> list[Question]:
        """The questions whose earlier outputs exist; the others fail here (a recorded teacher needs none)."""
        if self.teacher.keyed_by_question:
            return questions
        ready = []
        for q in questions:
            if all(q.id in texts for texts in inputs) or (q.id, kind, "") in self.stored:
                ready.append(q)
            else:
                self._fail(q.id, kind, "", "no earlier output to build on (see the failure before)")
        return ready

    # --- one stage: stored, cached, or asked ---
    def _prepare(self, kind: str, jobs: list[_Job]) -> _Stage:
        stage = _Stage(kind, texts={}, pending=[])
        for job in jobs:
            stored = self.stored.get((job.question.id, kind, job.option_label))
            if stored is not None:
                stage.texts[job.question.id] = stored.text
                continue
            rendered = self.teacher.render(job.prompt)
            identity = (job.question.id, kind, job.option_label) if self.teacher.keyed_by_question else ()
            key = cache_key(self.described, rendered, identity)
            cached = self.cache.get(key) if self.cache is not None else None
            self.stats.cache_hits += cached is not None
            stage.pending.append((job, rendered, key, cached))
        return stage

    def _keep_answer(self, stage: _Stage, keys: list[str], index: int, completion: Completion) -> None:
        """Put one answer in the cache the moment it arrives (on the teacher's thread), before its record is
        made and handed on: a kill after this costs no second teacher call for it."""
        if completion.error:
            return
        response = CachedResponse(
            completion.text, completion.prompt_tokens, completion.completion_tokens, _now()
        )
        stage.answered[keys[index]] = response
        self.cache.put(keys[index], response)

    def _finish(self, stage: _Stage, completions: list[Completion]) -> None:
        """Count the teacher's answers, cache them, and make the stage's records in job order."""
        created_at = _now()
        answered = iter(completions)
        fresh: dict[str, CachedResponse] = {}
        for job, rendered, key, cached in stage.pending:
            response = cached
            if cached is None:
                completion = next(answered)
                self.stats.teacher_calls += 1
                self.stats.prompt_tokens += completion.prompt_tokens
                self.stats.completion_tokens += completion.completion_tokens
                if completion.error:
                    self._fail(job.question.id, stage.kind, job.option_label, completion.error)
                    continue
                response = stage.answered.get(key)
                if response is None:  # a teacher that does not hand answers over as they arrive
                    response = fresh[key] = CachedResponse(
                        completion.text, completion.prompt_tokens, completion.completion_tokens, created_at
                    )
            stage.records.append(
                self._record(stage.kind, job, rendered, key, response, from_cache=cached is not None)
            )
        if self.cache is not None:
            self.cache.put_many(fresh)
        if stage.kind != "option_explanation":
            stage.texts.update({record.id: record.text for record in stage.records})

    def _record(
        self, kind: str, job: _Job, rendered: str, key: str, response: CachedResponse, *, from_cache: bool
    ) -> TeacherOutput:
        text = first_line(_strip_labels(_strip_prefix(response.text, job.prompt.prefix)))
        flags = self._flags(kind, text, job.question, job.option_label or job.question.answer_key)
        for flag in flags:
            self.stats.flagged[flag] = self.stats.flagged.get(flag, 0) + 1
        return TeacherOutput(
            id=job.question.id,
            kind=kind,
            option_label=job.option_label,
            text=text,
            prompt=rendered,
            params={
                "teacher": self.described,
                "method": self.config.method,
                "seed": self.config.seed,
                "draws": job.draws,
            },
            flags=flags,
            usage={
                "prompt_tokens": response.prompt_tokens,
                "completion_tokens": response.completion_tokens,
                "cached": from_cache,
            },
            cache_key=key,
            created_at=response.created_at,
        )

    @staticmethod
    def _flags(kind: str, text: str, question: Question, label: str) -> tuple[str, ...]:
        if not text:
            return ("empty",)
        if kind in ARGUING_KINDS and argues_for_other_option(text, question.choices, label):
            return ("other_option",)
        return ()

    def _fail(self, question_id: str, kind: str, option_label: str, error: str) -> None:
        self.stats.failures += 1
        if len(self.stats.errors) < MAX_ERRORS_KEPT:
            what = f"{kind} {option_label}".strip()
            self.stats.errors.append(f"question {question_id}, {what}: {error}")


def _strip_labels(text: str) -> str:
    """The text without a leading prompt label ("Explanation:", "Revision:" ...), which small teachers copy from the
    question block they were shown."""
    stripped = text.lstrip()
    while label := next((label for label in ANSWER_LABELS if stripped.startswith(label)), None):
        stripped = stripped[len(label) :].lstrip()
    return stripped if stripped != text.lstrip() else text


def _strip_prefix(text: str, prefix: str) -> str:
    """The answer without its forced start, when the teacher wrote it out itself (chat over HTTP)."""
    stripped = text.lstrip()
    return stripped[len(prefix) :] if prefix and stripped.startswith(prefix) else text
