"""Fixtures for the training library: tiny CQA data, tiny students trained once, a tiny causal LM teacher and
a loopback OpenAI-compatible server."""

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


# A chat template of the usual shape, for the tiny model (it has no pretrained one).
TINY_CHAT_TEMPLATE = (
    "{% for message in messages %}<|{{ message['role'] }}|>\n{{ message['content'] }}</s>\n{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>\n{% endif %}"
)


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


@pytest.fixture(scope="session")
def tiny_lm_dir(tmp_path_factory):
    """A randomly initialised 2-layer Llama with a byte-level BPE tokenizer trained on the prompts' own text."""
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    from training.prompts import EXPLAIN_INSTRUCTION
    from training.worked_examples import WORKED_EXAMPLES

    corpus = [EXPLAIN_INSTRUCTION] + [
        " ".join([e.question, *e.choices, e.explanation, e.draft, e.critique, e.revision])
        for e in WORKED_EXAMPLES
    ]
    specials = ["<pad>", "<s>", "</s>"]
    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    bpe.train_from_iterator(
        corpus,
        trainers.BpeTrainer(
            vocab_size=400, special_tokens=specials, initial_alphabet=pre_tokenizers.ByteLevel.alphabet()
        ),
    )
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=bpe, pad_token="<pad>", bos_token="<s>", eos_token="</s>"
    )
    tokenizer.chat_template = TINY_CHAT_TEMPLATE
    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=4096,
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        tie_word_embeddings=True,
        initializer_range=1.0,
    )
    folder = tmp_path_factory.mktemp("tiny-lm")
    LlamaForCausalLM(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


@pytest.fixture
def openai_server():
    with OpenAIServer() as server:
        yield server
