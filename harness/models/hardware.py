"""What the hardware computes natively, decided once and recorded: a recipe's ``precision="bf16"`` is mixed
precision where bf16 is native (CUDA, or a CPU with AVX512-BF16 or AMX), and fp32 elsewhere.

On a CPU without native bf16 (AVX2 only), PyTorch emulates bf16 autocast: a training step measured ~40x slower
than fp32 on a 2-core AVX2 EPYC (15 s vs ~0.4 s per batch of 16 pairs). The precision actually used enters the
artifact's cache key where it differs from the recipe's, so a bf16 artifact and an fp32 one never share a folder.
"""

from __future__ import annotations

from functools import lru_cache


def cuda_available() -> bool:
    import torch

    return bool(torch.cuda.is_available())


@lru_cache(maxsize=1)
def native_cpu_bf16() -> bool:
    import torch

    return bool(torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported())


def effective_precision(precision: str, quantization: str | None = None) -> str:
    """The precision a recipe trains at on this machine: "bf16" or "fp32"."""
    if quantization or precision != "bf16":
        return "bf16" if quantization else precision
    return "bf16" if cuda_available() or native_cpu_bf16() else "fp32"
