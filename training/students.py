"""Student models: a Hugging Face hub id, a local folder, or a named randomly initialised T5.

A named student (`random:t5-tiny`, `random:t5-small`, `random:t5-base`) gets a BPE tokenizer (SentencePiece-style:
word starts marked with ▁, so decoding restores the text) trained on the run's own texts and cached on disk by
content, so that nothing needs the network. BPE training is deterministic (Unigram training is not, run to run),
so the same texts and seed give the same student.
"""

import hashlib
import os
import shutil
import string
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers
from transformers import (
    AutoConfig,
    AutoModelForSeq2SeqLM,
    AutoTokenizer,
    PreTrainedModel,
    PreTrainedTokenizerBase,
    PreTrainedTokenizerFast,
    T5Config,
    T5ForConditionalGeneration,
)

RANDOM_PREFIX = "random:"
# T5 shapes; `vocab_size` is the size asked of the tokenizer trained for the run.
NAMED_CONFIGS = {
    "t5-tiny": {"d_model": 128, "d_ff": 256, "d_kv": 32, "num_heads": 4, "num_layers": 2, "vocab_size": 2000},
    "t5-small": {
        "d_model": 512,
        "d_ff": 2048,
        "d_kv": 64,
        "num_heads": 8,
        "num_layers": 6,
        "vocab_size": 32000,
    },
    "t5-base": {
        "d_model": 768,
        "d_ff": 3072,
        "d_kv": 64,
        "num_heads": 12,
        "num_layers": 12,
        "vocab_size": 32000,
    },
}
PAD, EOS, UNK = "<pad>", "</s>", "<unk>"  # ids 0, 1, 2, as in T5
# Students whose attention uses relative positions only, so inputs can be packed side by side in one row.
PACKABLE_MODEL_TYPES = ("t5", "mt5")


class StudentUnavailable(RuntimeError):
    """The student named for a run cannot be loaded; the message says why and what to do."""


@dataclass
class Student:
    model: PreTrainedModel
    tokenizer: PreTrainedTokenizerBase
    source: str  # what was loaded: the name, folder or checkpoint


def named_students() -> list[str]:
    return [RANDOM_PREFIX + name for name in NAMED_CONFIGS]


def build_tokenizer(
    texts: Iterable[str], *, vocab_size: int, cache_dir: str | Path
) -> PreTrainedTokenizerFast:
    """A BPE tokenizer trained on `texts` (cached under cache_dir by content), appending </s> like T5."""
    texts = [text for text in texts if text]
    digest = hashlib.sha256(f"bpe-v1/{vocab_size}".encode())
    for text in texts:
        digest.update(text.encode())
        digest.update(b"\0")
    folder = Path(cache_dir) / "tokenizers" / digest.hexdigest()[:24]
    if (folder / "tokenizer.json").is_file():
        return AutoTokenizer.from_pretrained(folder)
    if not texts:
        raise ValueError("cannot build a tokenizer: no texts to train it on")
    backend = Tokenizer(models.BPE(unk_token=UNK))
    backend.normalizer = normalizers.NFKC()
    backend.pre_tokenizer = pre_tokenizers.Metaspace()
    backend.decoder = decoders.Metaspace()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=[PAD, EOS, UNK],
        initial_alphabet=list(string.printable),
        show_progress=False,
    )
    backend.train_from_iterator(texts, trainer)
    backend.post_processor = processors.TemplateProcessing(
        single=f"$A {EOS}", pair=f"$A {EOS} $B {EOS}", special_tokens=[(EOS, backend.token_to_id(EOS))]
    )
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=backend, pad_token=PAD, eos_token=EOS, unk_token=UNK, model_max_length=1_000_000
    )
    folder.parent.mkdir(parents=True, exist_ok=True)
    partial = folder.with_name(f"{folder.name}.{os.getpid()}.partial")  # processes of one run may race here
    tokenizer.save_pretrained(partial)
    try:
        partial.rename(folder)
    except OSError:
        if not (folder / "tokenizer.json").is_file():
            raise
        shutil.rmtree(partial)  # another process cached the same tokenizer first
    return tokenizer


def random_student(name: str, *, corpus: Iterable[str], cache_dir: str | Path) -> Student:
    """A randomly initialised T5 of a named size; seed torch first for reproducible weights."""
    short = name.removeprefix(RANDOM_PREFIX)
    if short not in NAMED_CONFIGS:
        raise StudentUnavailable(
            f"unknown named student {name!r}; the named ones are {', '.join(named_students())}"
        )
    shape = dict(NAMED_CONFIGS[short])
    tokenizer = build_tokenizer(corpus, vocab_size=shape.pop("vocab_size"), cache_dir=cache_dir)
    config = T5Config(
        vocab_size=len(tokenizer),
        pad_token_id=tokenizer.pad_token_id,
        eos_token_id=tokenizer.eos_token_id,
        decoder_start_token_id=tokenizer.pad_token_id,
        feed_forward_proj="relu",
        **shape,
    )
    return Student(T5ForConditionalGeneration(config), tokenizer, name)


def _unreachable(name: str, error: Exception) -> StudentUnavailable:
    return StudentUnavailable(
        f"the student {name!r} is neither a local folder nor a named config, and the Hugging Face hub could not "
        f"provide it ({str(error).splitlines()[0]}). Without network access: download it where there is "
        f"network (`hf download {name} --local-dir DIR`), copy DIR here and pass its path; or train a randomly "
        f"initialised student: {', '.join(named_students())}."
    )


def load_student(
    name: str, *, corpus: Iterable[str] | None = None, cache_dir: str | Path | None = None
) -> Student:
    """Load a seq2seq student by hub id, local folder or named config (`corpus` trains a named one's tokenizer)."""
    if name.startswith(RANDOM_PREFIX):
        if corpus is None or cache_dir is None:
            raise ValueError(
                f"the named student {name!r} needs a corpus and a cache folder for its tokenizer"
            )
        return random_student(name, corpus=corpus, cache_dir=cache_dir)
    local = Path(name).expanduser()
    if name.startswith(("/", ".", "~")) and not local.exists():
        raise StudentUnavailable(f"no student folder at {local}")
    if local.exists() and not (local / "config.json").is_file():
        raise StudentUnavailable(f"{local} holds no model: config.json is missing")
    try:
        config = AutoConfig.from_pretrained(name)
    except OSError as error:
        raise _unreachable(name, error) from error
    if not getattr(config, "is_encoder_decoder", False):
        raise StudentUnavailable(
            f"{name!r} is a {config.model_type} model, not an encoder-decoder (seq2seq) one"
        )
    try:
        model = AutoModelForSeq2SeqLM.from_pretrained(name)
        tokenizer = AutoTokenizer.from_pretrained(name)
    except OSError as error:
        raise _unreachable(name, error) from error
    return Student(model, tokenizer, name)


def supports_packing(model: PreTrainedModel) -> bool:
    """Whether several inputs can share one row: only with relative position biases (the T5 family)."""
    return model.config.model_type in PACKABLE_MODEL_TYPES
