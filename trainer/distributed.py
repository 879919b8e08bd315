"""Training on several processes: DistributedDataParallel under ``torchrun``.

    torchrun --standalone --nproc_per_node=N -m trainer.train --model vgg19 --data fer2013.zip

torchrun sets RANK, WORLD_SIZE and LOCAL_RANK; without them the trainer is one
process and nothing here changes what it does. NCCL joins GPUs (one per
process, ``cuda:LOCAL_RANK``), Gloo joins CPU processes. ``--batch-size`` stays
the batch one optimiser step sees: each of N processes takes batch/N faces of
it, so the learning rate and schedule mean what they mean on one process (no
scaling rule needed). Only rank 0 writes files and prints progress.
"""

from __future__ import annotations

import datetime
import os
from dataclasses import dataclass

import torch
import torch.distributed as dist

# The teacher pass and PublicTest run on rank 0 alone while the others wait at a barrier;
# on a CPU that wait can be long (an ensemble teacher takes minutes), so the collective timeout is generous.
WAIT = datetime.timedelta(hours=3)


@dataclass(frozen=True)
class Ranks:
    """Where this process stands among the training processes."""

    rank: int = 0
    world: int = 1
    local_rank: int = 0
    local_world: int = 1  # processes on this machine: they share its cores

    @property
    def main(self) -> bool:
        """Rank 0: the one process that writes checkpoints, weights and logs."""
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world > 1


def ranks_from_environment() -> Ranks:
    """The ranks torchrun gives this process (one process when it was not started by torchrun)."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return Ranks()
    return Ranks(int(os.environ["RANK"]), world, int(os.environ.get("LOCAL_RANK", "0")),
                 int(os.environ.get("LOCAL_WORLD_SIZE", "1")))


def start(ranks: Ranks, device: str) -> str:
    """Join the process group (NCCL for CUDA, Gloo otherwise); returns this process's device."""
    if not ranks.distributed:
        return device
    if device == "cuda":
        torch.cuda.set_device(ranks.local_rank)
        device = f"cuda:{ranks.local_rank}"
    if not dist.is_initialized():
        dist.init_process_group("nccl" if device.startswith("cuda") else "gloo", timeout=WAIT)
    return device


def stop(ranks: Ranks) -> None:
    if ranks.distributed and dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()


def wait_for_main(ranks: Ranks) -> None:
    """Every process waits here until rank 0 has reached the same point (after writing what the others read)."""
    if ranks.distributed:
        dist.barrier()


def share_of_batch(batch_size: int, ranks: Ranks) -> int:
    if batch_size % ranks.world:
        raise ValueError(f"--batch-size {batch_size} does not split evenly over {ranks.world} processes; "
                         f"pass a multiple of {ranks.world}")
    return batch_size // ranks.world


def any_rank(flag: bool, ranks: Ranks, device: str) -> bool:
    """True on every process when it is true on one: decisions such as stopping early stay in step."""
    if not ranks.distributed:
        return flag
    t = torch.tensor([1.0 if flag else 0.0], device=device)
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return bool(t.item())


def summed(values: list[float], ranks: Ranks, device: str) -> list[float]:
    """Per-process sums (loss, correct answers, faces seen) added over every process."""
    if not ranks.distributed:
        return values
    t = torch.tensor(values, dtype=torch.float64, device=device)
    dist.all_reduce(t)
    return t.tolist()


def wrap(model: torch.nn.Module, ranks: Ranks, device: str) -> torch.nn.Module:
    """The module the training step runs: the model itself, or DDP around it (gradients averaged over processes)."""
    if not ranks.distributed:
        return model
    ids = [torch.device(device).index] if device.startswith("cuda") else None
    return torch.nn.parallel.DistributedDataParallel(model, device_ids=ids)
