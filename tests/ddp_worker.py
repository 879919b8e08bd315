"""One training process under torchrun that also keeps what its network holds after every epoch.

    torchrun --standalone --nproc_per_node=2 tests/ddp_worker.py DUMP_DIR TRAINER_ARGS...

Only rank 0 writes the run's files, so what the other ranks hold is saved here,
as DUMP_DIR/rank{R}-epoch{E}.pt, for tests/test_distributed.py to compare.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import torch

import trainer.train

dump = Path(sys.argv[1])
epoch_of_the_run = trainer.train.train_epoch


def train_epoch_and_keep(model, opt, data, cfg, epoch, ranks):
    scores = epoch_of_the_run(model, opt, data, cfg, epoch, ranks)
    network = getattr(model, "module", model)  # DDP wraps the network
    torch.save({k: v.detach().cpu() for k, v in network.named_parameters()}, dump / f"rank{ranks.rank}-epoch{epoch}.pt")
    return scores


trainer.train.train_epoch = train_epoch_and_keep
trainer.train.main(sys.argv[2:])
print(f"rank {os.environ['RANK']} of {os.environ['WORLD_SIZE']} done", file=sys.stderr)
