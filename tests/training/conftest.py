"""Fixtures for the training library: tiny CQA data, tiny students trained once and a loopback
OpenAI-compatible server (the tiny causal LM teacher, `tiny_lm_dir`, is in tests/conftest.py)."""

from pathlib import Path

import pytest
import torch

from tests.training.openai_server import OpenAIServer
from training.config import TrainConfig
from training.cqa import Question, load_split
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


def train_until_stopped(config: TrainConfig, *, stop_after: int, **kwargs):
    """Train with a stop asked once step `stop_after` is reported; returns the result and the progress seen."""
    seen = []
    result = train(
        config,
        progress=seen.append,
        should_stop=lambda: bool(seen) and seen[-1].step >= stop_after,
        **kwargs,
    )
    return result, seen


@pytest.fixture
def sample_questions() -> list[Question]:
    """Three everyday questions for the teacher generation tests."""
    return [
        Question(
            id="q-cup",
            question="Where would you put a clean cup so you can find it again tomorrow?",
            choices=("cupboard", "oven", "garden", "bed", "car"),
            answer_key="A",
        ),
        Question(
            id="q-scissors",
            question="What do you use to cut a sheet of paper in half?",
            choices=("spoon", "scissors", "pillow", "hat", "rope"),
            answer_key="B",
        ),
        Question(
            id="q-bike",
            question="What does a bicycle need to move forward?",
            choices=("a song", "a roof", "someone pedaling", "a window", "a blanket"),
            answer_key="C",
        ),
    ]


@pytest.fixture
def openai_server():
    with OpenAIServer() as server:
        yield server
