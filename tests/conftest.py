"""Shared fixtures: a real Celery worker on the configured broker, staff users, a tiny causal LM teacher."""

import time

import pytest
from django.conf import settings
from django.db import connection


def pytest_report_header(config):
    db = settings.DATABASES["default"]
    broker = (
        "in-process (no CELERY_BROKER_URL)"
        if settings.CELERY_TASK_ALWAYS_EAGER
        else settings.CELERY_BROKER_URL
    )
    return [
        f"database engine: {db['ENGINE'].rsplit('.', 1)[-1]} ({db.get('HOST') or db['NAME']})",
        f"broker: {broker}",
    ]


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    """Users made by fixtures get a cheap hash: the production hasher costs about a second per user on 2 cores."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def empty_cache():
    """Each test starts with an empty cache: the study entry's rate limit counts requests per client address in
    it, and every test client comes from 127.0.0.1."""
    from django.core.cache import cache

    cache.clear()


@pytest.fixture(scope="module")
def celery_worker():
    """A real Celery worker in a thread, consuming both queues from the configured broker (Redis). Module-scoped:
    it is gone before the next module, whose tests may start worker processes of their own."""
    from celery.contrib.testing.worker import start_worker

    from distill_site.celery import app

    if settings.CELERY_TASK_ALWAYS_EAGER:
        pytest.fail(
            "this test needs a real broker: set CELERY_BROKER_URL=redis://127.0.0.1:6379/0 "
            "(make test and .ci/run do), and start Redis with `make services`"
        )
    with app.connection_for_write() as conn:
        for queue in ("default", "gpu"):
            conn.default_channel.queue_purge(queue)
    with start_worker(
        app,
        pool="solo",
        concurrency=1,
        perform_ping_check=False,
        queues=["default", "gpu"],
        shutdown_timeout=30,
    ) as worker:
        yield worker


def wait_for(predicate, timeout: float = 30.0, interval: float = 0.05, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


@pytest.fixture(scope="module")
def browser():
    """Headless Chromium, one per test module."""
    from distill_site.chromium import chromium

    with chromium() as browser:
        yield browser


@pytest.fixture
def staff_client(client, django_user_model):
    user = django_user_model.objects.create_user(
        "researcher", password="pw-researcher-1", is_staff=True, is_superuser=True
    )
    client.force_login(user)
    client.user = user
    return client


@pytest.fixture
def plain_client(client, django_user_model):
    user = django_user_model.objects.create_user("visitor", password="pw-visitor-1")
    client.force_login(user)
    return client


@pytest.fixture
def db_vendor():
    return connection.vendor


# A chat template of the usual shape, for the tiny model (it has no pretrained one).
TINY_CHAT_TEMPLATE = (
    "{% for message in messages %}<|{{ message['role'] }}|>\n{{ message['content'] }}</s>\n{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>\n{% endif %}"
)


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
