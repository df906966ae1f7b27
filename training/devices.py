"""Whether this machine computes in bfloat16 natively: a GPU that supports it, or a CPU with the AVX512-BF16 or AMX
instructions. There a bf16 matrix product is about 1.5× as fast as a float32 one (a SmolLM2 LoRA training step
and greedy decoding, both measured on a 2-core AMD EPYC); elsewhere the CPU emulates bf16, and it is slower."""

from pathlib import Path

import torch

CPU_BF16_FLAGS = frozenset({"avx512_bf16", "amx_bf16"})


def cuda_bf16() -> bool:
    return torch.cuda.is_available() and torch.cuda.is_bf16_supported()


def cpu_bf16(cpuinfo: Path = Path("/proc/cpuinfo")) -> bool:
    """The CPU's flags (Linux) name a bf16 instruction set; False where they cannot be read."""
    try:
        lines = cpuinfo.read_text().splitlines()
    except OSError:
        return False
    flags = next((line.split(":", 1)[1].split() for line in lines if line.startswith("flags")), [])
    return not CPU_BF16_FLAGS.isdisjoint(flags)


def cpu_runs_bf16() -> bool:
    """No GPU, and a CPU that computes bf16 natively: where setting `bf16` on a run makes it faster."""
    return not torch.cuda.is_available() and cpu_bf16()
