"""The teacher interface shared by the three backends and the plain teacher spec (`teacher_factory` builds one).

A teacher takes a batch of requests (a prompt plus the output it is for) and returns one `Completion` per
request, in order: the raw text and its token usage, or an error for that request alone. Problems that doom
every request (server unreachable, unknown model, refused API key, missing model file) raise `TeacherError`.

Backends (`TeacherSpec.backend`):
- `openai`: an OpenAI-compatible HTTP server (vLLM, Ollama, llama.cpp, TGI, OpenAI), `training.teacher_openai`;
- `transformers`: a local causal LM (any `AutoModelForCausalLM` id or path, a `.gguf` file, or `smollm2`),
  `training.teacher_transformers`;
- `recorded`: outputs produced elsewhere, read from a JSONL file keyed by question id, `training.teacher_recorded`.
"""

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Protocol

from .key_values import check_setting_names
from .prompts import Prompt

BACKENDS = ("openai", "transformers", "recorded")
ENDPOINTS = ("chat", "completions")


class TeacherError(RuntimeError):
    """The teacher cannot serve any request: the message says what is wrong and how to fix it."""


class TeacherUnavailableError(TeacherError):
    """The teacher's server cannot be reached."""


class UnknownModelError(TeacherError):
    """The teacher's server does not serve the requested model."""


@dataclass(frozen=True)
class Decoding:
    """How the teacher decodes; part of every output's cache key. Greedy by default, as in the paper."""

    max_new_tokens: int = 128
    temperature: float = 0.0  # 0 means greedy
    top_p: float = 1.0
    # Only the first line of an output is kept; stopping at the first blank line saves the tokens a
    # completion model spends on inventing the next worked example.
    stop: tuple[str, ...] = ("\n\n",)
    seed: int = 0  # for sampling, when temperature > 0

    def __post_init__(self) -> None:
        if self.max_new_tokens < 1:
            raise ValueError(f"max_new_tokens must be at least 1, got {self.max_new_tokens}")
        if self.temperature < 0 or not 0 < self.top_p <= 1:
            raise ValueError(
                f"need temperature >= 0 and 0 < top_p <= 1, got {self.temperature}, {self.top_p}"
            )

    @property
    def greedy(self) -> bool:
        return self.temperature == 0

    @classmethod
    def from_dict(cls, values: Mapping) -> "Decoding":
        check_setting_names(cls, values, what="decoding parameter")
        values = dict(values)
        if "stop" in values:
            stop = values["stop"]
            values["stop"] = (stop,) if isinstance(stop, str) else tuple(stop)
        return cls(**values)

    def to_dict(self) -> dict:
        return {**asdict(self), "stop": list(self.stop)}


@dataclass(frozen=True)
class TeacherRequest:
    prompt: Prompt
    question_id: str
    kind: str  # the teacher output kind this request is for
    option_label: str = ""


@dataclass(frozen=True)
class Completion:
    text: str = ""  # raw, as the teacher returned it
    prompt_tokens: int = 0
    completion_tokens: int = 0
    error: str = ""  # why this request failed (after any retries); empty on success


AnswerHook = Callable[[int, Completion], None]


class Teacher(Protocol):
    # True when outputs depend on the question and output kind rather than on the prompt (recorded outputs):
    # the cache key then includes them.
    keyed_by_question: bool
    # Prompts per call that keep this teacher busy: a few times its batch or its requests in flight.
    preferred_batch: int
    # How many calls may run at once: 2 lets the next call's requests fill the slots the last one frees.
    concurrent_calls: int

    def describe(self) -> dict:
        """Backend, model and decoding: what determines the outputs (recorded with each, hashed in its key)."""

    def render(self, prompt: Prompt) -> str:
        """The exact prompt as this teacher sends it (a text, or the chat messages as JSON)."""

    def complete(
        self, requests: Sequence[TeacherRequest], on_answer: AnswerHook | None = None
    ) -> list[Completion]:
        """One completion per request, in order. `on_answer(index, completion)` is called for each request as
        soon as its answer is in (from any thread), so the caller can keep it before the whole call returns."""

    def close(self) -> None: ...


@dataclass(frozen=True)
class TeacherSpec:
    """A teacher as plain values; the web app's `Teacher` row maps onto it field by field.

    `decoding` changes what the teacher writes (see `Decoding`); `options` only how it runs:
    - openai: max_in_flight (8), timeout_s (120), max_retries (4), backoff_s (1.0);
    - transformers: batch_size (16), device (cuda if available), dtype (bfloat16 on GPU, float32 on CPU),
      prompt_format (auto: chat when the tokenizer has a chat template), cache_dir (for converted GGUF files),
      threads (torch CPU threads, process-wide; default torch's choice).
    """

    backend: str
    model: str  # model id or path; a .gguf file or `smollm2`; for `recorded`, the JSONL file
    base_url: str = ""
    endpoint: str = "chat"
    api_key_env: str = ""  # name of the environment variable holding the API key, never the key
    decoding: Mapping = field(default_factory=dict)
    options: Mapping = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.backend not in BACKENDS:
            raise ValueError(f"unknown teacher backend {self.backend!r}; expected one of {BACKENDS}")
        if not self.model:
            raise ValueError("the teacher spec needs a model (for `recorded`, the JSONL file)")
        if self.endpoint not in ENDPOINTS:
            raise ValueError(f"unknown endpoint {self.endpoint!r}; expected one of {ENDPOINTS}")
        if self.backend == "openai" and not self.base_url:
            raise ValueError("an `openai` teacher needs a base_url, e.g. http://gpu-host:8000/v1")

    def to_json(self) -> dict:
        return {**asdict(self), "decoding": dict(self.decoding), "options": dict(self.options)}


def parse_teacher(text: str, **refinements) -> TeacherSpec:
    """A teacher spec from `BACKEND:MODEL` (transformers:smollm2, openai:llama3.1, recorded:teacher.jsonl) or a
    JSON file holding one, refined by `refinements`: base_url, endpoint, api_key_env replace the spec's when
    given; decoding and options are merged into the spec's."""
    if text.endswith(".json") and Path(text).is_file():
        values = json.loads(Path(text).read_text(encoding="utf-8"))
    else:
        backend, sep, model = text.partition(":")
        if not sep:
            raise ValueError(f"a teacher is BACKEND:MODEL or a JSON spec file, got {text!r}")
        values = {"backend": backend, "model": model}
    for name in ("base_url", "endpoint", "api_key_env"):
        if refinements.get(name):
            values[name] = refinements[name]
    for name in ("decoding", "options"):
        values[name] = {**values.get(name, {}), **(refinements.get(name) or {})}
    return TeacherSpec(**values)
