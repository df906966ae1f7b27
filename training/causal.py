"""Decoder-only (causal LM) students: prompts and completions, packed batches without padding, the loss.

Each task of a question is one sequence: its input as the prompt (followed by a new line, or wrapped in the
tokenizer's chat template), then its target as the completion, ended by the end-of-sequence token. The formats are
the seq2seq students' (`formats.py`), so answers and explanations are read back by the same rules.

Packing: every sequence of a batch is laid end to end in one row, without a single pad token. Position ids restart
at 0 with each sequence; from them transformers builds a block-diagonal causal mask (SDPA, eager) or variable-length
attention (flash attention), so no token attends across sequences, exactly as with `DataCollatorWithFlattening`.
Labels are next-token labels, already shifted within each sequence, so no label crosses a sequence boundary.

The loss is that of the seq2seq students: each task's mean token cross-entropy over the batch, weighted per task
(`TrainConfig.task_weights`). By default only completion tokens count; `loss_on_prompt` counts the prompt's too
(every token after a sequence's first), as `DataCollatorForLanguageModeling` over prompt + completion does in the
study's extension. Logits are computed only at the labelled positions (`logits_to_keep`), which spares the
vocabulary-sized logits of every prompt token.
"""

from collections.abc import Mapping, Sequence

import torch
import torch.nn.functional as F

from .batching import (
    IGNORE_INDEX,
    StudentDataset,
    TokenizedSegment,
    segments_dataset,
    task_indices,
    task_token_weights,
)
from .examples import TrainingData
from .losses import weighted_token_loss

PROMPT_END = "\n"  # between a prompt and its completion, without a chat template


def prompt_texts(tokenizer, inputs: Sequence[str], *, chat_template: bool) -> list[str]:
    """The prompt of each input: the input and a new line, or the input as a user turn of the chat template."""
    if not chat_template:
        return [text + PROMPT_END for text in inputs]
    if not getattr(tokenizer, "chat_template", None):
        raise ValueError("chat_template is on, but the student's tokenizer has no chat template: turn it off")
    return [
        tokenizer.apply_chat_template(
            [{"role": "user", "content": text}], tokenize=False, add_generation_prompt=True
        )
        for text in inputs
    ]


def tokenize_prompts(
    tokenizer, inputs: Sequence[str], *, max_length: int, chat_template: bool
) -> list[list[int]]:
    """Token ids of each input's prompt (no special tokens added beyond the chat template's), at most max_length."""
    texts = prompt_texts(tokenizer, inputs, chat_template=chat_template)
    return [
        list(ids)
        for ids in tokenizer(texts, add_special_tokens=False, truncation=True, max_length=max_length)[
            "input_ids"
        ]
    ]


def tokenize_completions(tokenizer, targets: Sequence[str], *, max_length: int) -> list[list[int]]:
    """Token ids of each target followed by the end-of-sequence token, at most max_length in all."""
    if tokenizer.eos_token_id is None:
        raise ValueError("a causal student's tokenizer needs an end-of-sequence token to end its completions")
    encoded = tokenizer(list(targets), add_special_tokens=False, truncation=True, max_length=max_length - 1)
    return [[*ids, tokenizer.eos_token_id] for ids in encoded["input_ids"]]


def tokenize_causal_data(
    data: TrainingData, tokenizer, *, max_length: int, label_max_length: int, chat_template: bool
) -> StudentDataset:
    """Prompts (inputs) and completions (targets, ended by EOS) of every segment, in two batched calls."""
    flat = [segment for segments in data.examples for segment in segments]
    prompts = tokenize_prompts(
        tokenizer, [s.input for s in flat], max_length=max_length, chat_template=chat_template
    )
    completions = tokenize_completions(tokenizer, [s.target for s in flat], max_length=label_max_length)
    return segments_dataset(data, prompts, completions)


def pack_sequences(segments: Sequence[TokenizedSegment], *, loss_on_prompt: bool) -> dict[str, torch.Tensor]:
    """One row holding every segment's prompt + completion: input ids, position ids restarting per sequence,
    next-token labels (completion tokens, or every token after the first with `loss_on_prompt`), the task of
    each label (-1: none) and the sequence each position belongs to."""
    input_ids: list[int] = []
    positions: list[int] = []
    labels: list[int] = []
    tasks: list[int] = []
    sequence: list[int] = []
    for index, segment in enumerate(segments):
        tokens = segment.input_ids + segment.labels
        length = len(tokens)
        first = 0 if loss_on_prompt else max(len(segment.input_ids) - 1, 0)  # first position with a label
        input_ids += tokens
        positions += range(length)
        labels += [IGNORE_INDEX] * first + tokens[first + 1 :] + [IGNORE_INDEX]
        tasks += [-1] * first + [segment.task] * (length - 1 - first) + [-1]
        sequence += [index] * length
    return {
        "input_ids": torch.tensor([input_ids]),
        "position_ids": torch.tensor([positions]),
        "labels": torch.tensor([labels]),
        "label_tasks": torch.tensor([tasks]),
        "sequence_ids": torch.tensor([sequence]),
    }


class PackedCausalCollator:
    """Every task sequence of a batch's questions in one row (see the module's docstring), with per-token label
    weights `w_task / n_task` as `batching.SegmentCollator` gives the seq2seq students."""

    def __init__(self, *, task_weights: dict[str, float], loss_on_prompt: bool):
        self.weights = task_indices(task_weights)
        self.loss_on_prompt = loss_on_prompt

    def __call__(self, items: Sequence[list[TokenizedSegment]]) -> dict[str, torch.Tensor]:
        packed = pack_sequences(
            [segment for item in items for segment in item], loss_on_prompt=self.loss_on_prompt
        )
        return {
            "input_ids": packed["input_ids"],
            "position_ids": packed["position_ids"],
            "labels": packed["labels"],
            "label_weights": task_token_weights(packed["label_tasks"], self.weights),
        }


def labelled_logits(
    model: torch.nn.Module, batch: Mapping[str, torch.Tensor]
) -> tuple[torch.Tensor, torch.Tensor]:
    """Logits at the labelled positions of a packed row (one forward pass, no cache) and the index of those
    positions."""
    keep = (batch["labels"][0] != IGNORE_INDEX).nonzero().squeeze(1)
    logits = model(
        input_ids=batch["input_ids"],
        position_ids=batch["position_ids"],
        use_cache=False,
        logits_to_keep=keep,
    ).logits
    return logits, keep


def causal_loss(model: torch.nn.Module, batch: Mapping[str, torch.Tensor]) -> torch.Tensor:
    """Σ_task w_task × mean token cross-entropy of the task, over a packed batch."""
    logits, keep = labelled_logits(model, batch)
    return weighted_token_loss(logits, batch["labels"][:, keep], batch["label_weights"][:, keep])


def completion_losses(
    model: torch.nn.Module,
    tokenizer,
    prompts: Sequence[str],
    completions: Sequence[str],
    *,
    max_length: int,
    chat_template: bool,
    batch_size: int,
) -> list[float]:
    """Mean token cross-entropy of each completion after its prompt (packed, `batch_size` pairs a pass)."""
    if not prompts:
        return []
    prompt_ids = tokenize_prompts(tokenizer, prompts, max_length=max_length, chat_template=chat_template)
    completion_ids = tokenize_completions(tokenizer, completions, max_length=max_length)
    losses: list[float] = []
    for start in range(0, len(prompt_ids), batch_size):
        segments = [
            TokenizedSegment(0, p, c)
            for p, c in zip(
                prompt_ids[start : start + batch_size],
                completion_ids[start : start + batch_size],
                strict=True,
            )
        ]
        batch = {k: v.to(model.device) for k, v in pack_sequences(segments, loss_on_prompt=False).items()}
        logits, keep = labelled_logits(model, batch)
        token_losses = F.cross_entropy(logits[0].float(), batch["labels"][0, keep], reduction="none")
        owner = batch["sequence_ids"][0, keep]
        totals = torch.zeros(len(segments), device=token_losses.device).index_add_(0, owner, token_losses)
        counts = torch.bincount(owner, minlength=len(segments)).clamp(min=1)
        losses += (totals / counts).tolist()
    return losses
