"""Batches for the student: tokenized examples, packing, dynamic padding, length-grouped sampling.

Packing: a question's task inputs (e.g. its `[predict]` and `[explain]` inputs) are laid side by side in one
encoder row, and their targets side by side in one decoder row, each piece tagged with a segment number. The
attention masks built from those numbers (see `losses.packed_attention_masks`) keep the pieces apart, and T5's
relative position biases see exactly the positions they would see unpacked, so one forward pass over the packed
rows gives the same logits as one forward pass per task. Rows are padded to the longest in their batch only.
"""

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch.nn.utils.rnn import pad_sequence
from torch.utils.data import Dataset, Sampler

from .examples import TrainingData, task_index
from .formats import TASKS

IGNORE_INDEX = -100  # label value the loss skips


@dataclass(frozen=True)
class TokenizedSegment:
    task: int  # index into formats.TASKS
    input_ids: list[int]
    labels: list[int]


class StudentDataset(Dataset):
    """One item per question: its tokenized segments. Knows each item's encoder and decoder length."""

    def __init__(self, examples: list[list[TokenizedSegment]], question_ids: list[str]):
        self.examples = examples
        self.question_ids = question_ids
        self.encoder_lengths = [sum(len(s.input_ids) for s in segments) for segments in examples]
        self.decoder_lengths = [sum(len(s.labels) for s in segments) for segments in examples]

    def __len__(self) -> int:
        return len(self.examples)

    def __getitem__(self, index: int) -> list[TokenizedSegment]:
        return self.examples[index]


def tokenize_training_data(
    data: TrainingData, tokenizer, *, max_length: int, label_max_length: int | None = None
) -> StudentDataset:
    """Tokenize every input and target in two batched calls, truncating inputs to max_length tokens and targets
    to label_max_length (default: max_length)."""
    flat = [segment for segments in data.examples for segment in segments]
    inputs = tokenizer([s.input for s in flat], truncation=True, max_length=max_length)["input_ids"]
    targets = tokenizer([s.target for s in flat], truncation=True, max_length=label_max_length or max_length)[
        "input_ids"
    ]
    return segments_dataset(data, inputs, targets)


def segments_dataset(data: TrainingData, inputs: list[list[int]], targets: list[list[int]]) -> StudentDataset:
    """The dataset of `data` given the token ids of its segments' inputs and targets, in the order of its
    questions and their segments."""
    flat = [segment for segments in data.examples for segment in segments]
    tokenized = iter(
        TokenizedSegment(task_index(s.task), list(i), list(t))
        for s, i, t in zip(flat, inputs, targets, strict=True)
    )
    examples = [[next(tokenized) for _ in segments] for segments in data.examples]
    return StudentDataset(examples, data.question_ids)


def task_token_weights(label_tasks: torch.Tensor, weights: dict[int, float]) -> torch.Tensor:
    """Per-label-token weights `w_task / n_task` (n_task: label tokens of the task in the batch; other tokens,
    task -1, weigh 0), so that Σ weight × token loss = Σ_task w_task × mean token loss of the task."""
    label_weights = torch.zeros(label_tasks.shape, dtype=torch.float32)
    for task, weight in weights.items():
        mask = label_tasks == task
        count = int(mask.sum())
        if count:
            label_weights[mask] = weight / count
    return label_weights


def task_indices(task_weights: dict[str, float]) -> dict[int, float]:
    return {TASKS.index(task): weight for task, weight in task_weights.items()}


class SegmentCollator:
    """Pad a list of items into tensors, packing each question's segments into one row when `packed`.

    Each label token carries a weight `w_task / n_task`, where n_task is the number of label tokens of that task
    in the batch, so that `sum(weight × token loss)` is Σ_task w_task × (mean token loss of the task): the
    method's loss exactly, as if each task had had its own forward pass over the batch.
    """

    def __init__(
        self, *, pad_token_id: int, decoder_start_token_id: int, task_weights: dict[str, float], packed: bool
    ):
        self.pad_token_id = pad_token_id
        self.decoder_start_token_id = decoder_start_token_id
        self.weights = task_indices(task_weights)
        self.packed = packed

    def __call__(self, items: Sequence[list[TokenizedSegment]]) -> dict[str, torch.Tensor]:
        rows = list(items) if self.packed else [[segment] for item in items for segment in item]
        start = self.decoder_start_token_id

        def pad(pieces_of, value: int) -> torch.Tensor:
            return pad_sequence(
                [
                    torch.tensor(
                        [token for n, segment in enumerate(row, start=1) for token in pieces_of(n, segment)]
                    )
                    for row in rows
                ],
                batch_first=True,
                padding_value=value,
            )

        input_ids = pad(lambda n, s: s.input_ids, self.pad_token_id)
        encoder_segments = pad(lambda n, s: [n] * len(s.input_ids), 0)
        labels = pad(lambda n, s: s.labels, IGNORE_INDEX)
        decoder_input_ids = pad(
            lambda n, s: [start, *s.labels[:-1]], self.pad_token_id
        )  # each shifted on its own
        decoder_segments = pad(lambda n, s: [n] * len(s.labels), 0)
        label_tasks = pad(lambda n, s: [s.task] * len(s.labels), -1)
        label_weights = task_token_weights(label_tasks, self.weights)
        batch = {
            "input_ids": input_ids,
            "attention_mask": (encoder_segments > 0).long(),
            "decoder_input_ids": decoder_input_ids,
            "decoder_attention_mask": (decoder_segments > 0).long(),
            "labels": labels,
            "label_weights": label_weights,
        }
        if self.packed:
            batch["encoder_segment_ids"] = encoder_segments
            batch["decoder_segment_ids"] = decoder_segments
        return batch


def collate_by_task(
    items: Sequence[list[TokenizedSegment]], *, pad_token_id: int
) -> dict[str, dict[str, torch.Tensor]]:
    """One batch per task in the usual Hugging Face layout, each padded to its own longest: the layout of
    Distilling step-by-step, with one forward pass per task (see `losses.separate_forward_loss`)."""
    by_task: dict[int, list[TokenizedSegment]] = {}
    for item in items:
        for segment in item:
            by_task.setdefault(segment.task, []).append(segment)
    batches = {}
    for task, segments in sorted(by_task.items()):
        input_ids = pad_sequence(
            [torch.tensor(s.input_ids) for s in segments], batch_first=True, padding_value=pad_token_id
        )
        lengths = torch.tensor([len(s.input_ids) for s in segments])
        batches[TASKS[task]] = {
            "input_ids": input_ids,
            "attention_mask": (torch.arange(input_ids.shape[1])[None, :] < lengths[:, None]).long(),
            "labels": pad_sequence(
                [torch.tensor(s.labels) for s in segments], batch_first=True, padding_value=IGNORE_INDEX
            ),
        }
    return batches


def padding_share(batch: dict[str, torch.Tensor]) -> dict[str, float]:
    """Share of pad tokens in the encoder and decoder tensors of a batch."""
    return {
        side: 1 - float(batch[key].sum()) / batch[key].numel()
        for side, key in (("encoder", "attention_mask"), ("decoder", "decoder_attention_mask"))
    }


class LengthGroupedSampler(Sampler[int]):
    """Random batches whose items have similar encoder *and* decoder lengths, so both pad little.

    Per epoch: shuffle (with the seed and the epoch), cut into mega-batches of `megabatch_batches` batches, sort
    each by encoder length, cut that into √(batches) chunks, sort each chunk by decoder length, cut into batches,
    then shuffle the order of the batches. A last, smaller batch (when the data does not divide) comes last so
    the batches stay aligned with the data loader's.
    """

    def __init__(
        self,
        encoder_lengths: Sequence[int],
        decoder_lengths: Sequence[int],
        *,
        batch_size: int,
        seed: int,
        megabatch_batches: int = 50,
    ):
        if len(encoder_lengths) != len(decoder_lengths):
            raise ValueError("encoder and decoder lengths must describe the same items")
        self.encoder_lengths = list(encoder_lengths)
        self.decoder_lengths = list(decoder_lengths)
        self.batch_size = batch_size
        self.seed = seed
        self.megabatch_batches = megabatch_batches
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.encoder_lengths)

    def batches(self) -> list[list[int]]:
        rng = random.Random(f"{self.seed}/{self.epoch}")
        order = list(range(len(self.encoder_lengths)))
        rng.shuffle(order)
        size = self.batch_size
        full = len(order) - len(order) % size
        batches: list[list[int]] = []
        for start in range(0, full, size * self.megabatch_batches):
            mega = sorted(
                order[start : min(start + size * self.megabatch_batches, full)],
                key=self.encoder_lengths.__getitem__,
            )
            chunk = size * max(1, round(math.sqrt(len(mega) // size)))
            for c in range(0, len(mega), chunk):
                part = sorted(mega[c : c + chunk], key=self.decoder_lengths.__getitem__)
                batches.extend(part[i : i + size] for i in range(0, len(part), size))
        rng.shuffle(batches)
        if full < len(order):
            batches.append(order[full:])
        return batches

    def __iter__(self):
        for batch in self.batches():
            yield from batch
