"""Shared fixtures for the training library: the project's tiny CQA data and tiny students trained once."""

from pathlib import Path

import pytest
import torch

from training.config import TrainConfig
from training.cqa import load_split
from training.teacher_outputs import load_teacher_explanations
from training.trainer import train

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="package", autouse=True)
def one_thread():
    """Tiny models run faster on one thread than on two shared ones; restored after this package."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="session")
def questions():
    return load_split(DATA, "train")


@pytest.fixture(scope="session")
def validation_questions():
    return load_split(DATA, "validation")


@pytest.fixture(scope="session")
def teacher():
    return load_teacher_explanations([DATA / "teacher_train.jsonl", DATA / "teacher_validation.jsonl"])


@pytest.fixture(scope="session")
def tokenizer_cache(tmp_path_factory):
    return str(tmp_path_factory.mktemp("tokenizers"))


@pytest.fixture(scope="session")
def tiny_config(tokenizer_cache):
    """A tiny random T5 with settings that learn in a few dozen steps (the paper's lr is for 5,000 steps)."""

    def make(**overrides) -> TrainConfig:
        values = {
            "student": "random:t5-tiny",
            "batch_size": 6,
            "learning_rate": 3e-3,
            "max_steps": 12,
            "eval_every": 12,
            "logging_every": 2,
            "max_new_tokens": 24,
            "answer_max_new_tokens": 16,
            "tokenizer_cache_dir": tokenizer_cache,
        }
        return TrainConfig(**(values | overrides))

    return make


@pytest.fixture(scope="session")
def trained_multitask(tmp_path_factory, tiny_config, questions, teacher):
    """A multitask student trained on a handful of questions until it answers them all (evaluated on them)."""
    handful = questions[:6]
    result = train(
        tiny_config(max_steps=60, eval_every=30, logging_every=5),
        train_questions=handful,
        eval_questions=handful,
        teacher=teacher,
        output_dir=tmp_path_factory.mktemp("multitask"),
    )
    return result, handful
