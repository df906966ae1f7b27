"""The student's loss: one forward pass over a (packed) batch, token losses weighted per task.

`student_loss` computes Σ_task w_task × mean token cross-entropy of the task over the batch (the weights come
from `TrainConfig.task_weights`, the per-token weights from `batching.SegmentCollator`). `separate_forward_loss`
is the same loss computed the Distilling step-by-step way, one forward pass per task; the tests and the benchmark
check that the two agree.
"""

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager

import torch
import torch.nn.functional as F
from transformers import PreTrainedModel
from transformers.masking_utils import ALL_MASK_ATTENTION_FUNCTIONS, and_masks, causal_mask_function

from .batching import IGNORE_INDEX


def _same_segment(query_segments: torch.Tensor, key_segments: torch.Tensor) -> Callable:
    def mask(batch, head, query, key):
        return query_segments[batch, query] == key_segments[batch, key]

    return mask


def _same_segment_or_padding_query(query_segments: torch.Tensor, key_segments: torch.Tensor) -> Callable:
    # A padding query (segment 0) may look anywhere: its output is never used, and no row is left empty.
    def mask(batch, head, query, key):
        return (query_segments[batch, query] == key_segments[batch, key]) | (
            query_segments[batch, query] == 0
        )

    return mask


def _attention_mask(model: PreTrainedModel, rule: Callable, *, batch: int, queries: int, keys: int, device):
    """A (batch, 1, queries, keys) mask allowing what `rule(batch, head, query, key)` allows, in the format of the
    model's attention implementation. `rule` works on broadcast index tensors, so no vmap is needed."""
    implementation = model.config._attn_implementation
    if implementation not in ALL_MASK_ATTENTION_FUNCTIONS:
        raise ValueError(
            f"packed rows need an attention implementation that takes masks, not {implementation!r}"
        )
    return ALL_MASK_ATTENTION_FUNCTIONS[implementation](
        batch_size=batch,
        q_length=queries,
        kv_length=keys,
        mask_function=rule,
        attention_mask=None,
        allow_is_causal_skip=False,
        allow_is_bidirectional_skip=False,
        dtype=model.dtype,
        config=model.config,
        use_vmap=False,
        device=device,
    )


def packed_attention_masks(
    model: PreTrainedModel, encoder_segment_ids: torch.Tensor, decoder_segment_ids: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Encoder self-attention, decoder causal self-attention and cross-attention masks for packed rows.

    Each token attends only to tokens of its own segment (padding is segment 0 and attends to padding).
    """
    batch, encoder_length = encoder_segment_ids.shape
    decoder_length = decoder_segment_ids.shape[1]
    device = encoder_segment_ids.device
    encoder_mask = _attention_mask(
        model,
        _same_segment(encoder_segment_ids, encoder_segment_ids),
        batch=batch,
        queries=encoder_length,
        keys=encoder_length,
        device=device,
    )
    decoder_mask = _attention_mask(
        model,
        and_masks(causal_mask_function, _same_segment(decoder_segment_ids, decoder_segment_ids)),
        batch=batch,
        queries=decoder_length,
        keys=decoder_length,
        device=device,
    )
    cross_mask = _attention_mask(
        model,
        _same_segment_or_padding_query(decoder_segment_ids, encoder_segment_ids),
        batch=batch,
        queries=decoder_length,
        keys=encoder_length,
        device=device,
    )
    return encoder_mask, decoder_mask, cross_mask


@contextmanager
def _decoder_cross_attention_mask(core: PreTrainedModel, mask: torch.Tensor) -> Iterator[None]:
    """Hand `mask` to the decoder's cross-attention for one call.

    The model's forward gives the decoder the encoder's own mask as cross-attention mask; packed rows need a
    different one. Swapping it in a pre-hook keeps the call a single `model(...)`, as data-parallel training needs.
    """

    def swap(module, args, kwargs):
        kwargs["encoder_attention_mask"] = mask
        return args, kwargs

    handle = core.get_decoder().register_forward_pre_hook(swap, with_kwargs=True)
    try:
        yield
    finally:
        handle.remove()


def student_logits(
    model: torch.nn.Module, batch: Mapping[str, torch.Tensor], *, core: PreTrainedModel | None = None
) -> torch.Tensor:
    """Decoder logits for a collated batch, in one forward pass. `core` is the model inside any wrapper (DDP)."""
    core = core if core is not None else model
    if "encoder_segment_ids" not in batch:
        return model(
            input_ids=batch["input_ids"],
            attention_mask=batch["attention_mask"],
            decoder_input_ids=batch["decoder_input_ids"],
            decoder_attention_mask=batch["decoder_attention_mask"],
        ).logits
    encoder_mask, decoder_mask, cross_mask = packed_attention_masks(
        core, batch["encoder_segment_ids"], batch["decoder_segment_ids"]
    )
    with _decoder_cross_attention_mask(core, cross_mask):
        return model(
            input_ids=batch["input_ids"],
            attention_mask=encoder_mask,
            decoder_input_ids=batch["decoder_input_ids"],
            decoder_attention_mask=decoder_mask,
        ).logits


def weighted_token_loss(
    logits: torch.Tensor, labels: torch.Tensor, label_weights: torch.Tensor
) -> torch.Tensor:
    """Σ weight × token cross-entropy; padding has label -100 and weight 0."""
    token_losses = F.cross_entropy(
        logits.reshape(-1, logits.size(-1)), labels.reshape(-1), ignore_index=IGNORE_INDEX, reduction="none"
    )
    return (token_losses * label_weights.reshape(-1)).sum()


def student_loss(
    model: torch.nn.Module, batch: Mapping[str, torch.Tensor], *, core: PreTrainedModel | None = None
) -> torch.Tensor:
    return weighted_token_loss(
        student_logits(model, batch, core=core), batch["labels"], batch["label_weights"]
    )


def separate_forward_loss(
    model: torch.nn.Module,
    task_batches: Mapping[str, Mapping[str, torch.Tensor]],
    weights: Mapping[str, float],
) -> torch.Tensor:
    """The same loss the Distilling step-by-step way: Σ_task w_task × model(task batch).loss, one pass per task."""
    return sum(weights[task] * model(**batch).loss for task, batch in task_batches.items())
