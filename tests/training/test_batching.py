"""Packed batches: layout, per-task weights, length grouping, and the same loss as one forward pass per task."""

import pytest
import torch
from transformers import T5Config, T5ForConditionalGeneration

from training.batching import (
    IGNORE_INDEX,
    LengthGroupedSampler,
    SegmentCollator,
    TokenizedSegment,
    collate_by_task,
    padding_share,
    tokenize_training_data,
)
from training.config import TrainConfig
from training.examples import build_training_data, tokenizer_corpus
from training.formats import TASKS
from training.losses import separate_forward_loss, student_loss
from training.students import build_tokenizer

PREDICT, EXPLAIN = TASKS.index("predict"), TASKS.index("explain")


def test_packed_rows_lay_segments_side_by_side_and_weight_each_task():
    items = [
        [TokenizedSegment(PREDICT, [5, 6, 1], [7, 1]), TokenizedSegment(EXPLAIN, [8, 1], [9, 10, 11, 1])],
        [TokenizedSegment(PREDICT, [5, 1], [7, 1]), TokenizedSegment(EXPLAIN, [8, 8, 8, 1], [9, 1])],
    ]
    collate = SegmentCollator(
        pad_token_id=0, decoder_start_token_id=0, task_weights={"predict": 0.25, "explain": 0.75}, packed=True
    )
    batch = collate(items)
    assert batch["input_ids"].tolist() == [[5, 6, 1, 8, 1, 0], [5, 1, 8, 8, 8, 1]]
    assert batch["encoder_segment_ids"].tolist() == [[1, 1, 1, 2, 2, 0], [1, 1, 2, 2, 2, 2]]
    assert batch["labels"].tolist() == [[7, 1, 9, 10, 11, 1], [7, 1, 9, 1, IGNORE_INDEX, IGNORE_INDEX]]
    # Each target is shifted right on its own, starting from the decoder start token.
    assert batch["decoder_input_ids"].tolist() == [[0, 7, 0, 9, 10, 11], [0, 7, 0, 9, 0, 0]]
    assert batch["decoder_segment_ids"].tolist() == [[1, 1, 2, 2, 2, 2], [1, 1, 2, 2, 0, 0]]
    weights = batch["label_weights"]
    assert weights[0, 0].item() == pytest.approx(0.25 / 4)  # four predict label tokens in the batch
    assert weights[0, 2].item() == pytest.approx(0.75 / 6)  # six explain label tokens
    assert weights.sum().item() == pytest.approx(1.0) and weights[1, 4:].sum() == 0
    assert padding_share(batch) == {"encoder": pytest.approx(1 / 12), "decoder": pytest.approx(2 / 12)}

    unpacked = SegmentCollator(
        pad_token_id=0,
        decoder_start_token_id=0,
        task_weights={"predict": 0.25, "explain": 0.75},
        packed=False,
    )(items)
    assert unpacked["input_ids"].shape == (4, 4) and "encoder_segment_ids" not in unpacked


def test_length_grouped_batches_cover_every_item_once_and_pad_less_than_random_ones():
    # Lengths spread like CQA's (inputs 40–140 tokens, targets 20–90), independent of each other.
    encoder = [(i * 37) % 101 + 40 for i in range(1003)]
    decoder = [(i * 53) % 71 + 20 for i in range(1003)]
    sampler = LengthGroupedSampler(encoder, decoder, batch_size=16, seed=0)
    batches = sampler.batches()
    assert sorted(i for b in batches for i in b) == list(range(1003))
    assert [len(b) for b in batches][-1] == 1003 % 16 and all(len(b) == 16 for b in batches[:-1])
    assert list(sampler) == [i for b in batches for i in b]
    sampler.set_epoch(1)
    assert sampler.batches() != batches
    sampler.set_epoch(0)
    assert sampler.batches() == batches  # the order depends on the seed and the epoch only

    def waste(groups, lengths):
        return 1 - sum(lengths[i] for b in groups for i in b) / sum(
            len(b) * max(lengths[i] for i in b) for b in groups
        )

    random_batches = [list(range(s, min(s + 16, 1003))) for s in range(0, 1003, 16)]
    for lengths in (encoder, decoder):
        assert waste(batches, lengths) < 0.12 < 0.3 < waste(random_batches, lengths)


def tiny_t5(**overrides) -> T5ForConditionalGeneration:
    torch.manual_seed(0)
    values = dict(
        vocab_size=0, d_model=32, d_ff=64, d_kv=8, num_heads=4, num_layers=2, decoder_start_token_id=0
    )
    return T5ForConditionalGeneration(T5Config(**(values | overrides)))


@pytest.mark.parametrize(
    ("method", "model_settings", "packed"),
    [
        ("multitask", {"attn_implementation": "sdpa"}, True),
        ("multitask", {"attn_implementation": "eager"}, True),
        ("multitask_counterfactual", {"feed_forward_proj": "gated-gelu", "tie_word_embeddings": False}, True),
        (
            "multitask_counterfactual",
            {},
            False,
        ),  # students without relative positions: one row per task input
    ],
)
def test_one_forward_pass_computes_the_loss_of_one_forward_per_task(
    method, model_settings, packed, questions, teacher, tokenizer_cache
):
    config = TrainConfig(method=method, counterfactuals_per_question=2, alpha=0.3, beta=0.7, gamma=0.6)
    data = build_training_data(questions[:5], teacher, config)
    tokenizer = build_tokenizer(
        tokenizer_corpus(questions, teacher), vocab_size=600, cache_dir=tokenizer_cache
    )
    items = list(tokenize_training_data(data, tokenizer, max_length=300))
    model = tiny_t5(vocab_size=len(tokenizer), **model_settings).eval()

    naive = separate_forward_loss(model, collate_by_task(items, pad_token_id=0), config.task_weights())
    naive.backward()
    naive_grads = [p.grad.clone() for p in model.parameters()]
    model.zero_grad()
    fused = student_loss(
        model,
        SegmentCollator(
            pad_token_id=0, decoder_start_token_id=0, task_weights=config.task_weights(), packed=packed
        )(items),
    )
    fused.backward()

    assert fused.item() == pytest.approx(naive.item(), rel=1e-5)
    for mine, theirs in zip((p.grad for p in model.parameters()), naive_grads, strict=True):
        assert (mine - theirs).norm() <= 1e-4 * theirs.norm() + 1e-8  # float32 sums taken in another order


def test_targets_are_cut_to_the_label_length_and_inputs_to_max_length(questions, teacher, tokenizer_cache):
    config = TrainConfig(method="multitask", formats="paper", label_max_length=8)
    data = build_training_data(questions[:3], teacher, config)
    tokenizer = build_tokenizer(
        tokenizer_corpus(questions, teacher, formats="paper"), vocab_size=600, cache_dir=tokenizer_cache
    )
    items = list(tokenize_training_data(data, tokenizer, max_length=12, label_max_length=8))
    targets = [tokenizer(s.target)["input_ids"] for segments in data.examples for s in segments]
    inputs = [tokenizer(s.input)["input_ids"] for segments in data.examples for s in segments]
    assert max(len(t) for t in targets) > 8 and max(len(i) for i in inputs) > 12  # both would run longer
    segments = [segment for item in items for segment in item]
    assert [len(s.labels) for s in segments] == [min(len(t), 8) for t in targets]
    assert [len(s.input_ids) for s in segments] == [min(len(i), 12) for i in inputs]
