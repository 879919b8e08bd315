"""fer-desktop-train: train a model on FER-2013 and write the weights the app loads.

    fer-desktop-train --model squeezenet --data ../shared/data/fer2013.zip

One straight loop: data held as one uint8 tensor on the device, batched
augmentation, bf16 autocast where the hardware has it, selection on PublicTest
only, an atomic checkpoint every epoch and exact ``--resume``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import shlex
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import DistributedSampler
from tqdm import tqdm

from fer_desktop.cli import DATA_HELP, DEVICES, DEVICE_HELP, EXIT_INTERRUPTED, add_version_flag, describe_os_error
from fer_desktop.emotions import EMOTIONS
from fer_desktop.export.files import replace_atomically, write_text_atomically
from fer_desktop.export.outputs import folder_problem
from fer_desktop.inference import resolve_device
from fer_desktop.models import MODEL_NAMES, SPECS, by_preference, count_parameters, create_model, get_model
from fer_desktop.preprocess import normalize
from fer_desktop.weights import (
    DEFAULT_WEIGHTS_DIR, WeightsError, load_ensemble, load_model, load_named, read_info, save_weights,
    update_weights, weights_path,
)
from fer_desktop.words import count
from trainer.augment import AugmentConfig, augment
from trainer.data import DataError, FerData, describe_data, load_fer
from trainer.fuse import fuse
from trainer import distributed
from trainer.distributed import Ranks, any_rank, ranks_from_environment, share_of_batch, summed, wait_for_main, wrap
from trainer.machine import describe_machine, machine
from trainer.mixing import mix_batch, mixed_log_probs
from trainer.options import add_options, option, take_options
from trainer.predict import autocast, bf16_supported, predict_probs
from trainer.recalibrate import recalibrate_weights
from trainer.report import write_report


@dataclass
class TrainConfig:
    model: str = option(by_preference("cpu")[0].name, "the model to train; a fusion (the ensemble) trains its members, then fuses "
                        "them", choices=MODEL_NAMES)
    data: str = option("", DATA_HELP + " (required)")
    out: str = option("runs", "each model's run goes to OUT/MODEL/: checkpoint, best weights, report")
    epochs: int = option(60, "epochs of the whole schedule")
    batch_size: int = option(128, "images a step")
    lr: float = option(0.05, "peak learning rate: SGD with Nesterov momentum, cosine decay after warm-up")
    momentum: float = option(0.9, "SGD momentum")
    weight_decay: float = option(5e-4, "L2 weight decay")
    warmup_epochs: float = option(1.0, "linear learning-rate warm-up, in epochs")
    label_smoothing: float = option(0.1, "label smoothing of the cross-entropy")
    class_weights: bool = option(False, "weight classes by 1/sqrt(frequency): disgust has 436 training images")
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    mixup: float = option(0.0, "mixup: blend each face with another of its batch, and their targets, by a share "
                                "drawn from Beta(alpha, alpha); this is alpha, 0 turns it off")
    cutmix: float = option(0.0, "CutMix: paste a rectangle of another face of the batch, targets shared by area; "
                                "alpha as for --mixup; with both, each batch uses one at random")
    teacher: str = option("", "distil from this model: a name in weights/, or a .safetensors or ensemble .json path")
    kd_alpha: float = option(0.7, "share of the distillation term in the loss")
    kd_temperature: float = option(4.0, "softmax temperature of the distillation term")
    teacher_ten_crop: bool = option(False, "the teacher sees ten crops (5x the time) instead of the centre crop "
                                           "and its mirror")
    device: str = option("auto", DEVICE_HELP, choices=DEVICES)
    amp: bool = option(True, "bf16 autocast where the hardware supports it")
    seed: int = option(0, "seed of the initialisation, the data order and the augmentation")
    threads: int = option(0, "CPU threads for torch; 0 = all cores")
    limit: int = option(0, "use only N random training images (smoke tests); 0 = all")
    stop_after: int = option(0, "end this invocation after N epochs; continue later with --resume; 0 = run to the end")
    time_limit: float = option(0.0, "minutes: end this invocation before an epoch that would end past it; 0 = none")
    resume: bool = option(False, "continue the interrupted run in OUT/MODEL/ exactly")
    recalibrate: bool = option(True, "at the end, measure BatchNorm statistics anew on un-augmented training faces; "
                                     "they stay if PublicTest accuracy rises")
    init: str = option("", "start from trained weights (a name in weights/ or a .safetensors path) instead of "
                           "random ones: a new schedule from there, a warm restart")


# ---------------------------------------------------------------- command line

def parse_args(argv: list[str] | None = None) -> TrainConfig:
    p = argparse.ArgumentParser(
        prog="fer-desktop-train", description=__doc__.split("\n\n")[0],
        epilog="Several GPUs or processes: torchrun --standalone --nproc_per_node=N -m trainer.train ... "
               "(DistributedDataParallel; --batch-size stays the batch of one step, split over the processes).")
    add_version_flag(p)
    add_options(p, TrainConfig)
    add_options(p.add_argument_group("augmentation"), AugmentConfig, prefix="aug_")
    args = vars(p.parse_args(argv))
    aug = AugmentConfig(**take_options(args, AugmentConfig, prefix="aug_"))
    cfg = TrainConfig(**take_options(args, TrainConfig), augment=aug)
    if not cfg.data:
        p.error("--data is required: " + DATA_HELP)
    for flag, value in (("--epochs", cfg.epochs), ("--batch-size", cfg.batch_size)):
        if value <= 0:
            p.error(f"{flag} must be a whole number above 0, not {value}")
    for flag, value, allowed in numeric_options(cfg):
        if not RANGES[allowed](value):  # nan is inside no range
            p.error(f"{flag} must be {allowed}, not {value}")
    problem = folder_problem(Path(cfg.out) / cfg.model, "the runs")
    if problem:
        p.error(f"--out {cfg.out}: {problem}")
    members = get_model(cfg.model).members
    if cfg.init and members:
        p.error(f"--init starts one architecture: give each member's run its own (--model {' / '.join(members)})")
    if cfg.resume:
        changed = flags_changed_on_resume(Path(cfg.out) / cfg.model, p, argv)
        if changed:
            p.error(f"--resume continues {Path(cfg.out) / cfg.model} exactly as it was started, but "
                    f"{'; '.join(changed)}: drop {'that flag' if len(changed) == 1 else 'those flags'}, "
                    f"or start a new run with another --out")
    return cfg


# What a resumed run may change: where and how fast it runs, how it is split into invocations, where the data is.
RESUMABLE = {"device", "threads", "stop_after", "time_limit", "resume", "data"}


def flags_changed_on_resume(run_dir: Path, p: argparse.ArgumentParser, argv: list[str] | None) -> list[str]:
    """The flags given with ``--resume`` whose values differ from the run's saved config.json, in words."""
    try:
        saved = json.loads((run_dir / "config.json").read_text())
    except (OSError, ValueError):
        return []  # no record to compare with: open_run says what is missing
    defaults = {a: a.default for a in p._actions}
    for a in defaults:  # parse again with every default suppressed: only the flags given remain
        a.default = argparse.SUPPRESS
    try:
        given = vars(p.parse_args(argv))
    finally:
        for a, default in defaults.items():
            a.default = default
    changed = []
    for dest, value in given.items():
        key = dest.removeprefix("aug_")
        was = saved.get("augment", {}).get(key) if dest.startswith("aug_") else saved.get(dest, value)
        if dest not in RESUMABLE and was is not None and was != value:
            flag = "--" + dest.replace("_", "-")
            changed.append(f"{flag} is {value} here and {was} in the run")
    return changed


# What a numeric option may be, in words and as a test.
RANGES = {
    "a finite number above 0": lambda v: 0 < v < math.inf,
    "a finite number of 0 or more": lambda v: 0 <= v < math.inf,
    "at least 0 and at most 1": lambda v: 0 <= v <= 1,
    "at least 0 and below 1": lambda v: 0 <= v < 1,
    "at least 0 and at most 0.5": lambda v: 0 <= v <= 0.5,
    "at least 0 and at most 180": lambda v: 0 <= v <= 180,
}


def numeric_options(cfg: TrainConfig) -> list[tuple[str, float, str]]:
    """(flag, value, the RANGES key it must satisfy) of every numeric training option but --epochs and --batch-size."""
    a = cfg.augment
    return [
        *((flag, v, "a finite number above 0") for flag, v in (("--lr", cfg.lr), ("--kd-temperature", cfg.kd_temperature))),
        *((flag, v, "a finite number of 0 or more") for flag, v in (
            ("--weight-decay", cfg.weight_decay), ("--warmup-epochs", cfg.warmup_epochs), ("--threads", cfg.threads),
            ("--limit", cfg.limit), ("--stop-after", cfg.stop_after), ("--time-limit", cfg.time_limit),
            ("--mixup", cfg.mixup), ("--cutmix", cfg.cutmix))),
        *((flag, v, "at least 0 and at most 1") for flag, v in (
            ("--kd-alpha", cfg.kd_alpha), ("--aug-erase", a.erase), ("--aug-degrade", a.degrade),
            ("--aug-degrade-small", a.degrade_small), ("--aug-degrade-blur", a.degrade_blur),
            ("--aug-degrade-dim", a.degrade_dim), ("--aug-degrade-jpeg", a.degrade_jpeg))),
        *((flag, v, "at least 0 and below 1") for flag, v in (
            ("--momentum", cfg.momentum), ("--label-smoothing", cfg.label_smoothing), ("--aug-scale", a.scale))),
        ("--aug-shift", a.shift, "at least 0 and at most 0.5"),
        ("--aug-degrees", a.degrees, "at least 0 and at most 180"),
    ]


def config_from_dict(d: dict) -> TrainConfig:
    d = dict(d)
    return TrainConfig(**{**d, "augment": AugmentConfig(**d.get("augment", {}))})


# ---------------------------------------------------------------- helpers

# Flags that split a run across invocations without changing what it trains.
INVOCATION_FLAGS = {"--resume": 0, "--stop-after": 1, "--time-limit": 1}


def training_command(argv: list[str]) -> str:
    """The command that trains this run in one go: the one a model card can show for anyone to rerun."""
    kept, skip = [], 0
    for arg in argv:
        if skip:
            skip -= 1
            continue
        flag = arg.split("=", 1)[0]
        if flag in INVOCATION_FLAGS:
            skip = 0 if "=" in arg else INVOCATION_FLAGS[flag]
            continue
        kept.append(arg)
    return shlex.join(["fer-desktop-train", *kept])


# What the weights a run starts from (``--init``) pass on to its weights: how they were made.
LINEAGE = ("public_accuracy", "epochs", "epoch", "teacher", "command", "batchnorm", "init")


def get_lr(step: int, total: int, warmup: int, peak: float) -> float:
    """Linear warm-up, then cosine decay to zero."""
    if step < warmup:
        return peak * (step + 1) / warmup
    progress = (step - warmup) / max(1, total - warmup)
    return peak * 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))


def class_weights(labels: np.ndarray) -> torch.Tensor:
    counts = np.bincount(labels, minlength=len(EMOTIONS)).astype(np.float64)
    w = 1 / np.sqrt(np.maximum(counts, 1))
    return torch.tensor(w / (w * counts).sum() * counts.sum(), dtype=torch.float32)


def make_optimizer(model: torch.nn.Module, cfg: TrainConfig) -> torch.optim.Optimizer:
    """SGD with Nesterov momentum; no weight decay on biases and BatchNorm."""
    decay = [p for p in model.parameters() if p.ndim > 1]
    no_decay = [p for p in model.parameters() if p.ndim <= 1]
    return torch.optim.SGD(
        [{"params": decay, "weight_decay": cfg.weight_decay}, {"params": no_decay, "weight_decay": 0.0}],
        lr=cfg.lr, momentum=cfg.momentum, nesterov=True,
    )


def train_step(
    model: torch.nn.Module, opt: torch.optim.Optimizer, faces: torch.Tensor, y: torch.Tensor, cfg: TrainConfig,
    gen: torch.Generator, teacher: torch.Tensor | None = None, weight: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """One update on a batch of (N, 1, 48, 48) uint8 faces: augment, forward, loss, backward, step.

    ``teacher`` holds the teacher's log-probabilities for the batch (distillation);
    with mixup or CutMix, both the labels and the teacher's targets are mixed as the faces were.
    Returns the loss and the logits.
    """
    spec = SPECS[cfg.model]
    x = augment(faces.float(), spec.input_size, cfg.augment, gen)
    x, mix = mix_batch(x, cfg.mixup, cfg.cutmix, gen)
    x = normalize(x, spec).contiguous(memory_format=torch.channels_last)
    with autocast(faces.device.type, cfg.amp):
        logits = model(x)
    logits = logits.float()
    loss = F.cross_entropy(logits, y, weight=weight, label_smoothing=cfg.label_smoothing)
    if mix is not None:
        partner_loss = F.cross_entropy(logits, y[mix.partner], weight=weight, label_smoothing=cfg.label_smoothing)
        loss = mix.lam * loss + (1 - mix.lam) * partner_loss
    if teacher is not None:
        t = cfg.kd_temperature
        target = mixed_log_probs(F.log_softmax(teacher / t, 1), mix)
        kd = F.kl_div(F.log_softmax(logits / t, 1), target, reduction="batchmean", log_target=True)
        loss = (1 - cfg.kd_alpha) * loss + cfg.kd_alpha * t * t * kd
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()
    return loss, logits


def atomic_save(obj, path: Path) -> None:
    with replace_atomically(path) as tmp:
        try:
            torch.save(obj, tmp)
        except RuntimeError as e:  # torch's writer reports a full disk as a failed C++ check
            raise OSError(f"{path}: cannot be written, perhaps for a full disk ({str(e).splitlines()[0]})") from None


def load_trained(ref: str) -> tuple[torch.nn.Module, object, dict]:
    """A trained model (a teacher, or a starting point) by weights name, looked up in weights/, or by file path."""
    if ref in MODEL_NAMES:
        return load_named(ref, DEFAULT_WEIGHTS_DIR)
    path = trained_file(ref)
    return load_ensemble(path) if path.suffix == ".json" else load_model(path)


def trained_file(ref: str) -> Path:
    """The file ``--init`` or ``--teacher`` names: a weights name in weights/, or a path."""
    path = Path(ref)
    if path.suffix in (".json", ".safetensors"):
        return path
    if ref in MODEL_NAMES:
        return weights_path(ref, DEFAULT_WEIGHTS_DIR)
    raise WeightsError(f"{ref}: no such weights; name a model in weights/ ({', '.join(MODEL_NAMES)}) "
                       f"or a .safetensors / ensemble .json file")


def check_trained_files(cfg: TrainConfig, run_dir: Path, resumed: bool) -> None:
    """Refuse a missing or damaged ``--init`` / ``--teacher`` before minutes of decoding, not after."""
    needed = [] if resumed else [("--init", cfg.init)]
    if not teacher_cache(cfg, run_dir).is_file():
        needed.append(("--teacher", cfg.teacher))
    for flag, ref in needed:
        if not ref:
            continue
        try:
            path = trained_file(ref)
            if path.suffix == ".json" and not path.is_file():
                raise WeightsError(f"{path}: no such ensemble file")
            info = read_info(path) if path.suffix == ".safetensors" else {}
        except WeightsError as e:
            raise WeightsError(f"{flag}: {e}") from None
        if flag == "--init" and info.get("architecture", cfg.model) != cfg.model:
            raise SystemExit(f"--init {ref}: holds {info['architecture']} weights, not {cfg.model}")


def teacher_views(cfg: TrainConfig) -> str:
    return "ten-crop" if cfg.teacher_ten_crop else "centre-and-mirror"


def teacher_cache(cfg: TrainConfig, run_dir: Path) -> Path:
    return run_dir / f"teacher_log_probs_{teacher_views(cfg)}.npy"


def start_from(model: torch.nn.Module, cfg: TrainConfig, quiet: bool = False) -> dict:
    """Load ``cfg.init`` into ``model``; returns its lineage for the new weights' metadata."""
    trained, _, info = load_trained(cfg.init)
    arch = info.get("architecture", f"a fusion of {', '.join(info.get('members', ()))}")
    if arch != cfg.model:
        raise SystemExit(f"--init {cfg.init}: holds {arch} weights, not {cfg.model}")
    model.load_state_dict(trained.state_dict())
    acc = info.get("public_accuracy")
    if not quiet:
        print(f"starting from {cfg.init} ({count(info['epochs'], 'epoch') if 'epochs' in info else '? epochs'}"
              + (f", PublicTest {acc:.2%})" if acc is not None else ")"), file=sys.stderr)
    return {"from": cfg.init, **{k: info[k] for k in LINEAGE if k in info}}


def teacher_log_probs(cfg: TrainConfig, run_dir: Path, images: np.ndarray, device: str) -> torch.Tensor:
    """The teacher's log-probabilities on the training images, computed once per run.

    By default over the centre crop and its mirror: ten crops take five times as
    long (about 85 minutes for the ensemble on a 2-core CPU, at the validation rates of
    benchmarks/training.py) for softer targets.
    """
    views = teacher_views(cfg)
    cache = teacher_cache(cfg, run_dir)
    if cache.is_file():
        try:
            lp = np.load(cache)
        except (OSError, ValueError):  # damaged: computed again below
            lp = np.empty(0)
        if len(lp) == len(images):
            return torch.from_numpy(lp)
    model, spec, _ = load_trained(cfg.teacher)
    print(f"distillation: computing {cfg.teacher} {views} probabilities on {len(images)} training faces", file=sys.stderr)
    probs = predict_probs(model.to(device), spec, images, device, tta=cfg.teacher_ten_crop,
                          mirror=not cfg.teacher_ten_crop, amp=cfg.amp, progress=f"teacher {views}")
    lp = np.log(np.clip(probs, 1e-8, 1)).astype(np.float32)
    with replace_atomically(cache) as tmp, open(tmp, "wb") as f:  # a run killed meanwhile leaves no half file
        np.save(f, lp)
    return torch.from_numpy(lp)


# ---------------------------------------------------------------- training steps

@dataclass
class Progress:
    """What carries a run from one epoch to the next, saved in its checkpoint."""

    epoch: int = 0  # epochs finished
    best_acc: float = -1.0  # -1: the first epoch always saves weights
    history: list[dict] = field(default_factory=list)
    lineage: dict | None = None  # what --init started from


@dataclass
class TrainingSet:
    """The training faces held on the device as uint8 (66 MB for FER-2013), with what each step needs beside them."""

    faces: torch.Tensor  # (N, 1, 48, 48) uint8
    labels: torch.Tensor
    teacher: torch.Tensor | None  # the teacher's log-probabilities (distillation)
    class_weight: torch.Tensor | None

    def __len__(self) -> int:
        return len(self.labels)


def use_threads(cfg: TrainConfig, device: str, ranks: Ranks = Ranks()) -> None:
    """``--threads``, or the cores shared out among the processes torchrun started on this machine."""
    if device == "cpu":
        torch.set_num_threads(cfg.threads or max(1, (os.cpu_count() or 1) // ranks.local_world))


def read_checkpoint(path: Path) -> dict:
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
        config_from_dict(state["config"])
        return state
    except Exception as e:  # torch.load fails with a different type for each kind of damage
        raise SystemExit(f"--resume: {path} is truncated or corrupt ({type(e).__name__}); start the run anew "
                         f"without --resume after moving the folder aside, or restore the file from a copy")


def open_run(cfg: TrainConfig) -> tuple[TrainConfig, Path, dict | None]:
    """The run folder and, with ``--resume``, its checkpoint; the saved config wins over the command line's."""
    run_dir = Path(cfg.out) / cfg.model
    ckpt_path = run_dir / "checkpoint.pt"
    state = None
    if cfg.resume:
        if not ckpt_path.is_file():
            raise SystemExit(f"--resume: no checkpoint at {ckpt_path}; start the run without --resume")
        state = read_checkpoint(ckpt_path)
        cfg = dataclasses.replace(config_from_dict(state["config"]), device=cfg.device, threads=cfg.threads,
                                  stop_after=cfg.stop_after, time_limit=cfg.time_limit, resume=True, data=cfg.data)
    elif ckpt_path.is_file():
        raise SystemExit(f"{run_dir} already holds a run: pass --resume to continue it, or --out to start a new one")
    run_dir.mkdir(parents=True, exist_ok=True)
    return cfg, run_dir, state


def load_splits(cfg: TrainConfig, quiet: bool = False) -> tuple[FerData, tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """FER-2013's training faces (``--limit`` of them) and PublicTest, the only split selection sees."""
    data = load_fer(cfg.data)
    train_x, train_y = data.select("train")
    val_x, val_y = data.select("public")
    if cfg.limit:
        keep = np.random.default_rng(cfg.seed).permutation(len(train_y))[: cfg.limit]  # files come sorted by class
        train_x, train_y = train_x[keep], train_y[keep]
    if len(train_y) < cfg.batch_size or len(val_y) == 0:
        raise SystemExit(
            f"{cfg.data}: {len(train_y)} training and {len(val_y)} PublicTest faces; training needs at least "
            f"one batch ({cfg.batch_size}) of training faces and some PublicTest faces to select on"
        )
    for note in data.notes if not quiet else ():
        print(f"note: {note}", file=sys.stderr)
    if data.skipped and not quiet:
        print(f"skipped {data.skipped} unreadable images or rows", file=sys.stderr)
    return data, (train_x, train_y), (val_x, val_y)


def build_model(cfg: TrainConfig, device: str, state: dict | None, run_dir: Path, ranks: Ranks = Ranks()
                ) -> tuple[torch.nn.Module, torch.optim.Optimizer, Progress]:
    """A fresh network (or ``--init``'s weights) and its optimiser, or both as the checkpoint left them."""
    torch.manual_seed(cfg.seed)
    model = create_model(cfg.model).to(device).to(memory_format=torch.channels_last)
    opt = make_optimizer(model, cfg)
    if state is not None:
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
        progress = Progress(state["epoch"], state["best_acc"], state["history"], state.get("init"))
        if ranks.main:
            print(f"resuming {run_dir} after epoch {progress.epoch}/{cfg.epochs} "
                  f"(best PublicTest {progress.best_acc:.2%})", file=sys.stderr)
        return model, opt, progress
    progress = Progress(lineage=start_from(model, cfg, quiet=not ranks.main) if cfg.init else None)
    if ranks.main:
        write_text_atomically(run_dir / "config.json", json.dumps(asdict(cfg), indent=2) + "\n")
        write_text_atomically(run_dir / "command.txt", training_command(sys.argv[1:]) + "\n")
    return model, opt, progress


def training_set(cfg: TrainConfig, run_dir: Path, faces: np.ndarray, labels: np.ndarray, device: str,
                 ranks: Ranks = Ranks()) -> TrainingSet:
    if cfg.teacher and ranks.distributed:
        if ranks.main:  # one process computes the teacher's cache; the others read it
            teacher_log_probs(cfg, run_dir, faces, device)
        wait_for_main(ranks)
    return TrainingSet(
        torch.from_numpy(faces).unsqueeze(1).to(device), torch.from_numpy(labels).to(device),
        teacher_log_probs(cfg, run_dir, faces, device).to(device) if cfg.teacher else None,
        class_weights(labels).to(device) if cfg.class_weights else None,
    )


def train_epoch(model: torch.nn.Module, opt: torch.optim.Optimizer, data: TrainingSet, cfg: TrainConfig,
                epoch: int, ranks: Ranks = Ranks()) -> dict:
    """One pass over the training faces in a fixed order per (seed, epoch); returns its loss, accuracy and speed.

    ``model`` is what the step runs: under torchrun, DDP around the network. Each
    process takes its shard of the epoch's order and its share of every batch.
    """
    # Every epoch's randomness derives from (seed, epoch, rank): a resumed run repeats it exactly.
    torch.manual_seed(cfg.seed * 100_003 + epoch + 7_919 * ranks.rank)
    gen = torch.Generator().manual_seed(cfg.seed * 100_003 + epoch + 7_919 * ranks.rank)
    sampler = DistributedSampler(range(len(data)), num_replicas=ranks.world, rank=ranks.rank, shuffle=True,
                                 seed=cfg.seed, drop_last=True)
    sampler.set_epoch(epoch)
    order = torch.tensor(list(sampler)).to(data.labels.device)
    share = share_of_batch(cfg.batch_size, ranks)
    steps = len(order) // share  # drop the ragged last batch: constant shapes
    warmup = int(cfg.warmup_epochs * steps)
    model.train()
    t0 = time.perf_counter()
    loss_sum = correct = seen = 0
    bar = tqdm(range(steps), desc=f"epoch {epoch + 1}/{cfg.epochs}", unit="step", file=sys.stderr,
               dynamic_ncols=True, leave=False, disable=not ranks.main)
    for i in bar:
        for g in opt.param_groups:
            g["lr"] = get_lr(epoch * steps + i, steps * cfg.epochs, warmup, cfg.lr)
        idx = order[i * share : (i + 1) * share]
        y = data.labels[idx]
        soft = None if data.teacher is None else data.teacher[idx]
        loss, logits = train_step(model, opt, data.faces[idx], y, cfg, gen, soft, data.class_weight)
        loss_sum += loss.item() * len(y)
        correct += (logits.argmax(1) == y).sum().item()
        seen += len(y)
        bar.set_postfix(loss=f"{loss_sum / seen:.3f}", acc=f"{correct / seen:.3f}",
                        img_s=f"{seen / (time.perf_counter() - t0):.0f}")
    seconds = time.perf_counter() - t0
    loss_sum, correct, seen = summed([loss_sum, correct, seen], ranks, data.labels.device.type)
    return {"lr": opt.param_groups[0]["lr"], "train_loss": loss_sum / seen, "train_accuracy": correct / seen,
            "epoch_seconds": seconds, "images_per_second": seen / seconds}


def validate(model: torch.nn.Module, cfg: TrainConfig, faces: np.ndarray, labels: np.ndarray, device: str) -> dict:
    """PublicTest accuracy and loss, single centre crop."""
    probs = predict_probs(model, SPECS[cfg.model], faces, device, amp=cfg.amp)
    return {"val_loss": float(-np.log(np.clip(probs[np.arange(len(labels)), labels], 1e-8, 1)).mean()),
            "val_accuracy": float((probs.argmax(1) == labels).mean())}


def save_best(run_dir: Path, model: torch.nn.Module, cfg: TrainConfig, progress: Progress, command: str) -> None:
    last = progress.history[-1]
    save_weights(run_dir / f"{cfg.model}.safetensors", cfg.model, model.state_dict(), {
        "trained_on": describe_data(cfg.data), "public_accuracy": last["val_accuracy"], "epoch": last["epoch"],
        "epochs": cfg.epochs, "parameters": count_parameters(model), "teacher": cfg.teacher or None,
        "init": progress.lineage, "command": command,
    })


def save_checkpoint(run_dir: Path, model: torch.nn.Module, opt: torch.optim.Optimizer, cfg: TrainConfig,
                    progress: Progress) -> None:
    atomic_save({
        "model": model.state_dict(), "optimizer": opt.state_dict(), "config": asdict(cfg), "epoch": progress.epoch,
        "best_acc": progress.best_acc, "history": progress.history, "init": progress.lineage,
    }, run_dir / "checkpoint.pt")


def last_epoch(cfg: TrainConfig, start: int) -> int:
    return cfg.epochs if not cfg.stop_after else min(cfg.epochs, start + cfg.stop_after)


def train(cfg: TrainConfig) -> Path:
    """Train one architecture (or fuse a registry entry's members); returns its run folder. Resumable per epoch.

    Under torchrun every process runs this; rank 0 alone validates and writes.
    """
    if get_model(cfg.model).is_fusion:
        return train_ensemble(cfg)
    ranks = ranks_from_environment()
    cfg, run_dir, state = open_run(cfg)
    check_trained_files(cfg, run_dir, resumed=state is not None)
    device = distributed.start(ranks, resolve_device(cfg.device))
    use_threads(cfg, device, ranks)
    share_of_batch(cfg.batch_size, ranks)  # an uneven split fails before the data is read
    data, (train_x, train_y), (val_x, val_y) = load_splits(cfg, quiet=not ranks.main)
    model, opt, progress = build_model(cfg, device, state, run_dir, ranks)
    wait_for_main(ranks)  # rank 0 has written command.txt
    command = (run_dir / "command.txt").read_text().strip()
    faces = training_set(cfg, run_dir, train_x, train_y, device, ranks)
    stepped = wrap(model, ranks, device)
    host = describe_machine(machine())  # per epoch: a run resumed elsewhere records each machine
    if ranks.main:
        split = f" = {ranks.world} processes x {cfg.batch_size // ranks.world}" if ranks.distributed else ""
        print(
            f"{cfg.model}: {count_parameters(model) / 1e6:.2f} M parameters · {len(train_y)} train / {len(val_y)} "
            f"PublicTest faces · {device}{' bf16' if cfg.amp and bf16_supported(device) else ' fp32'} · "
            f"{count(cfg.epochs, 'epoch')} of {count(len(train_y) // cfg.batch_size, 'step')} of {cfg.batch_size} faces{split}",
            file=sys.stderr,
        )

    end_epoch = last_epoch(cfg, progress.epoch)
    t_invocation, epoch_wall = time.perf_counter(), 0.0
    for epoch in range(progress.epoch, end_epoch):
        late = bool(cfg.time_limit and epoch_wall
                    and time.perf_counter() - t_invocation + epoch_wall > cfg.time_limit * 60)
        if any_rank(late, ranks, device):
            end_epoch = epoch  # the next epoch would end past --time-limit
            break
        t_epoch = time.perf_counter()
        trained = train_epoch(stepped, opt, faces, cfg, epoch, ranks)
        progress.epoch = epoch + 1
        if ranks.main:
            end_of_epoch(run_dir, model, opt, cfg, progress, trained, validate(model, cfg, val_x, val_y, device),
                         host, command)
        epoch_wall = time.perf_counter() - t_epoch
    if end_epoch < cfg.epochs:
        if ranks.main:
            print(f"stopped after epoch {end_epoch}/{cfg.epochs}; continue with --resume", file=sys.stderr)
    elif ranks.main:
        if cfg.recalibrate:
            recalibrate_weights(run_dir / f"{cfg.model}.safetensors", train_x, val_x, val_y, device)
        # Last: the record marks the run finished, so a run killed while recalibrating resumes into it.
        record_training(run_dir / f"{cfg.model}.safetensors", progress.history)
        write_report(run_dir, cfg.model, data, device, progress.history)
    wait_for_main(ranks)  # the others see the finished run only once rank 0 has written it
    return run_dir


def end_of_epoch(run_dir: Path, model: torch.nn.Module, opt: torch.optim.Optimizer, cfg: TrainConfig,
                 progress: Progress, trained: dict, scores: dict, host: str, command: str) -> None:
    """Rank 0's part of an epoch's end: its record, the best weights, the checkpoint and the line printed."""
    progress.history.append({
        "epoch": progress.epoch, "lr": trained["lr"], "train_loss": trained["train_loss"],
        "train_accuracy": trained["train_accuracy"], **scores, "epoch_seconds": trained["epoch_seconds"],
        "images_per_second": trained["images_per_second"], "machine": host,
    })
    improved = scores["val_accuracy"] > progress.best_acc
    if improved:
        progress.best_acc = scores["val_accuracy"]
        save_best(run_dir, model, cfg, progress, command)
    save_checkpoint(run_dir, model, opt, cfg, progress)
    print(
        f"epoch {progress.epoch}/{cfg.epochs} · loss {trained['train_loss']:.3f} · train {trained['train_accuracy']:.2%} · "
        f"PublicTest {scores['val_accuracy']:.2%}{' (best)' if improved else ''} · "
        f"{trained['epoch_seconds']:.0f} s, {trained['images_per_second']:.0f} img/s", file=sys.stderr,
    )


def finished(weights: Path) -> bool:
    """Whether these weights come from a run that finished: only then do they carry its training record."""
    return weights.is_file() and "training" in read_info(weights)


def record_training(path: Path, history: list[dict]) -> None:
    """Add the finished run's record to its best weights: the file then carries its model card's training facts."""
    update_weights(path, {"training": {
        "epochs_run": len(history),
        "train_seconds": sum(h["epoch_seconds"] for h in history),
        "machines": list(dict.fromkeys(h.get("machine") or "a machine not recorded" for h in history)),
        "history": [{k: v for k, v in h.items() if k != "machine"} for h in history],
    }})


def train_ensemble(cfg: TrainConfig) -> Path:
    """Train the members that are not trained yet, then pick the fusion weights on PublicTest (trainer.fuse)."""
    entry = get_model(cfg.model)
    run_dir = Path(cfg.out) / entry.name
    ranks = ranks_from_environment()
    device = distributed.start(ranks, resolve_device(cfg.device))
    t0 = time.perf_counter()
    # A member whose run has begun goes first: its epochs so far are not left waiting behind a whole new run.
    begun = [m for m in entry.members if (Path(cfg.out) / m / "checkpoint.pt").is_file()]
    for member in begun + [m for m in entry.members if m not in begun]:
        member_dir = Path(cfg.out) / member
        if finished(member_dir / f"{member}.safetensors"):
            if ranks.main:
                print(f"{member}: finished run found in {member_dir}", file=sys.stderr)
            continue
        resume = (member_dir / "checkpoint.pt").is_file()
        left = cfg.time_limit - (time.perf_counter() - t0) / 60  # --time-limit holds for the whole command
        if any_rank(bool(cfg.time_limit and left <= 0), ranks, device):
            if ranks.main:
                print(f"--time-limit reached before {member}; continue with --resume", file=sys.stderr)
            return run_dir
        train(dataclasses.replace(cfg, model=member, resume=resume, time_limit=max(left, 0.0) if cfg.time_limit else 0.0))
        if not finished(member_dir / f"{member}.safetensors"):
            return run_dir  # --stop-after or --time-limit ended the member's run early
    if not ranks.main:
        return run_dir  # the fusion is a few seconds of one process's work
    use_threads(cfg, device)
    members = {m: Path(cfg.out) / m / f"{m}.safetensors" for m in entry.members}
    return fuse(members, load_fer(cfg.data), describe_data(cfg.data), run_dir, entry.name, device)


def what_is_saved(cfg: TrainConfig) -> str:
    """After Ctrl-C: whether an epoch was saved to continue from, so the advice given is one that works."""
    entry = get_model(cfg.model)
    if any((Path(cfg.out) / m / "checkpoint.pt").is_file() for m in entry.members or (entry.name,)):
        return "the last finished epoch is saved; continue with --resume"
    return "no epoch had finished, so nothing is saved; start the run again (without --resume)"


def main(argv: list[str] | None = None) -> None:
    cfg = parse_args(argv)
    ranks = ranks_from_environment()
    try:
        run_dir = train(cfg)
    except (DataError, WeightsError, ValueError) as e:
        raise SystemExit(f"fer-desktop-train: {e}")
    except OSError as e:  # a full disk, say: every file is written whole or not at all, so the last epoch stays
        raise SystemExit(f"fer-desktop-train: {describe_os_error(e)}; {what_is_saved(cfg)}")
    except KeyboardInterrupt:
        print(f"fer-desktop-train: interrupted; {what_is_saved(cfg)}", file=sys.stderr)
        raise SystemExit(EXIT_INTERRUPTED)
    distributed.stop(ranks)
    if not ranks.main:
        return
    print(f"run folder: {run_dir}  (use it in the app: fer-desktop --weights {run_dir})")


if __name__ == "__main__":
    main()
