"""Training throughput on this machine: images per second and the projected FER-2013 epoch, per model.

    python benchmarks/training.py                       # squeezenet, resnet18, vgg19, ~4 min
    python benchmarks/training.py --models squeezenet --steps 2
    python benchmarks/training.py --pause /tmp/fer-train.pid   # stop a training run while timing
    python benchmarks/training.py --models squeezenet --profile  # and where a training step's time goes

No data set needed: a synthetic ``fer2013.csv`` (random faces, FER-2013's
columns) goes through the real ``trainer.train.train`` (the same augmentation,
model, bf16 autocast, optimizer and loop as a real run) for two epochs of
``--steps`` steps: the first is the warm-up, the second is timed, as the
trainer itself times it (``images_per_second`` in its history). Validation
throughput comes from the trainer's ``predict_probs``. The projected epoch is
FER-2013's 28,709 training faces plus its 3,589 PublicTest faces.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from common import (  # (adds the repo to sys.path)
    add_common_arguments, announce_machine, describe_machine, pause_pid, print_background, print_table, quietly,
    write_json,
)

from fer_desktop.models import ARCHITECTURES

TRAIN_FACES = 28_709  # FER-2013 Training
PUBLIC_FACES = 3_589  # FER-2013 PublicTest, the per-epoch validation



def synthetic_csv(path: Path, train: int, public: int, seed: int = 0) -> Path:
    """Random 48x48 faces with random labels, in the original fer2013.csv layout."""
    rng = np.random.default_rng(seed)
    with open(path, "w") as f:
        f.write("emotion,pixels,Usage\n")
        for i in range(train + public):
            pixels = " ".join(map(str, rng.integers(0, 256, 48 * 48)))
            f.write(f"{rng.integers(0, 7)},{pixels},{'Training' if i < train else 'PublicTest'}\n")
    return path


def measure(model: str, batch: int, steps: int, amp: bool, work: Path, pid: int | None, profile: bool) -> dict:
    import torch

    from fer_desktop.weights import load_model
    from trainer.predict import bf16_supported, predict_probs
    from trainer.train import TrainConfig, train

    data = synthetic_csv(work / f"{model}.csv", batch * steps, 256)
    tries = iter(range(100))

    def run() -> tuple[dict, float]:
        out = work / f"runs{next(tries)}"  # a fresh folder per try: the trainer will not overwrite a run
        cfg = TrainConfig(model=model, data=str(data), out=str(out), epochs=2, batch_size=batch, amp=amp,
                          warmup_epochs=0.5)
        run_dir = train(cfg)
        if profile:
            print_profile(cfg, steps)
        checkpoint = torch.load(run_dir / "checkpoint.pt", map_location="cpu", weights_only=True)
        net, spec, _ = load_model(run_dir / f"{model}.safetensors")
        faces = np.random.default_rng(1).integers(0, 256, (1024, 48, 48), dtype=np.uint8)
        predict_probs(net, spec, faces[:256], amp=amp)
        t = time.perf_counter()
        predict_probs(net, spec, faces, amp=amp)
        return checkpoint["history"][-1], len(faces) / (time.perf_counter() - t)  # epoch 2: epoch 1 warmed up

    (timed, val_ips), background = quietly(run, pid)
    train_ips = timed["images_per_second"]
    return {
        "model": model, "batch": batch, "timed_steps": steps, "bf16": amp and bf16_supported("cpu"),
        "threads": torch.get_num_threads(), "train_images_per_s": train_ips, "val_images_per_s": val_ips,
        "epoch_s": TRAIN_FACES / train_ips + PUBLIC_FACES / val_ips, "background_cores": background,
    }


def print_profile(cfg, steps: int) -> None:
    """Where the time of ``steps`` training steps goes, by operator: the trainer's own ``train_step``."""
    import torch
    from torch.profiler import profile as profiler

    from fer_desktop.models import create_model
    from trainer.train import make_optimizer, train_step

    torch.manual_seed(0)
    net = create_model(cfg.model).to(memory_format=torch.channels_last).train()
    opt = make_optimizer(net, cfg)
    gen = torch.Generator().manual_seed(0)
    faces = torch.randint(0, 256, (cfg.batch_size, 1, 48, 48), dtype=torch.uint8)
    labels = torch.randint(0, 7, (cfg.batch_size,))
    for _ in range(2):  # warm-up: oneDNN picks its kernels on the first calls
        train_step(net, opt, faces, labels, cfg, gen)
    with profiler() as prof:
        for _ in range(steps):
            train_step(net, opt, faces, labels, cfg, gen)
    table = prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=15)
    print(f"\n{cfg.model}: operators by own CPU time over {steps} training steps\n{table}")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--models", nargs="+", default=list(ARCHITECTURES), choices=ARCHITECTURES)
    p.add_argument("--batch", type=int, default=128, help="the trainer's default batch size")
    p.add_argument("--steps", type=int, default=16, help="timed steps (and as many warm-up steps)")
    p.add_argument("--no-amp", dest="amp", action="store_false", help="fp32 instead of bf16 autocast")
    p.add_argument("--profile", action="store_true", help="print the operators that take the time (slower)")
    add_common_arguments(p, "training.json", weights=False)
    args = p.parse_args(argv)
    pid = pause_pid(args.pause)
    work = Path(tempfile.mkdtemp(prefix="fer-bench-train-"))
    os.environ["FER_DESKTOP_CACHE"] = str(work / "cache")  # the trainer's decoded-data cache: not the user's

    info = announce_machine()
    runs = []
    for model in args.models:
        runs.append(measure(model, args.batch, args.steps, args.amp, work, pid, args.profile))
        time.sleep(1.0)  # let a paused job run between models
    print(f"\n{describe_machine(info)}; batch {args.batch}, {args.steps} timed steps after as many warm-up steps\n")
    print_table(
        ["model", "precision", "train img/s", "val img/s", "projected epoch"],
        [[r["model"], "bf16 autocast" if r["bf16"] else "fp32", f"{r['train_images_per_s']:.0f}",
          f"{r['val_images_per_s']:.0f}", f"{r['epoch_s'] / 60:.1f} min"] for r in runs],
    )
    print_background([r["background_cores"] for r in runs])
    if args.profile:
        print("(profiled: the profiler slows every step, so these figures are not written)")
    else:
        write_json(args.out, {"machine": info, "paused_pid": pid, "runs": runs})
    return 0


if __name__ == "__main__":
    sys.exit(main())
