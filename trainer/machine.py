"""The machine a figure was taken on: every training epoch and every benchmark records it."""

from __future__ import annotations

import os
import platform
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any


def machine() -> dict[str, Any]:
    """The CPU (model, cores, the instruction sets that matter to bf16), the GPU, and the software versions."""
    import torch

    cpu = platform.processor() or "?"
    flags: set[str] = set()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
            elif line.startswith("flags"):
                flags = set(line.split(":", 1)[1].split())
    except OSError:
        pass
    try:
        onnxruntime = version("onnxruntime")
    except PackageNotFoundError:
        onnxruntime = None
    return {
        "cpu": cpu, "cores": os.cpu_count(), "avx512": "avx512f" in flags, "avx512_bf16": "avx512_bf16" in flags,
        "amx_bf16": "amx_bf16" in flags,
        "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
        "python": platform.python_version(), "torch": torch.__version__, "onnxruntime": onnxruntime,
        "torch_threads": torch.get_num_threads(),
    }


def describe_machine(m: dict[str, Any]) -> str:
    """One line: ``Intel(R) Xeon(R) Processor, 2 cores (avx512, amx_bf16), no GPU; torch 2.13.0+cpu, ...``."""
    extras = [name for name in ("avx512", "avx512_bf16", "amx_bf16") if m.get(name)]
    gpu = m.get("gpu")
    gpu = "no GPU" if not gpu else ("a GPU" if gpu is True else gpu)  # ``True``: older benchmark JSON
    software = f"torch {m['torch']}" + (f", onnxruntime {m['onnxruntime']}" if m.get("onnxruntime") else "")
    return f"{m['cpu']}, {m['cores']} cores ({', '.join(extras) or 'no AVX-512'}), {gpu}; {software}"
