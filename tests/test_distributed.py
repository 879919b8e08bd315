"""The trainer under torchrun: two Gloo processes on the CPU train one model together (DDP)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from fer_fixtures import private_cache, synthetic_fer, write_tree  # noqa: F401

from trainer.distributed import Ranks, share_of_batch

HERE = Path(__file__).parent
# Tiny runs: SqueezeNet on 56 synthetic faces, a global batch of 8 split 4 + 4, fp32, one thread a process.
TINY = ["--model", "squeezenet", "--batch-size", "8", "--lr", "0.002", "--device", "cpu", "--no-amp",
        "--threads", "1", "--no-recalibrate"]


def torchrun(dump: Path, *args: str, processes: int = 2) -> subprocess.CompletedProcess:
    dump.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={processes}",
               str(HERE / "ddp_worker.py"), str(dump), *args]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": os.pathsep.join([str(HERE.parent), str(HERE)])}
    done = subprocess.run(command, capture_output=True, text=True, timeout=420, env=env)
    assert done.returncode == 0, done.stderr[-4000:]
    return done


def checkpoint(run: Path) -> dict:
    return torch.load(run / "squeezenet" / "checkpoint.pt", map_location="cpu", weights_only=True)


def same_tensors(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


@pytest.fixture(scope="module")
def fer_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_tree(tmp_path_factory.mktemp("fer") / "kaggle", synthetic_fer(train=8, public=1, private=1).files)


def test_two_gloo_processes_hold_one_model_and_resume_as_if_never_stopped(fer_dir: Path, tmp_path: Path) -> None:
    # An interrupted run (1 epoch, then --resume for the 2nd) and an uninterrupted one (2 epochs).
    stopped, whole = tmp_path / "stopped", tmp_path / "whole"
    first = torchrun(tmp_path / "dump-stopped", *TINY, "--data", str(fer_dir), "--out", str(stopped),
                     "--epochs", "2", "--stop-after", "1")
    assert "8 faces = 2 processes x 4" in first.stderr
    assert first.stderr.count("epoch 1/2 ·") == 1  # one process reports
    assert checkpoint(stopped)["epoch"] == 1
    torchrun(tmp_path / "dump-stopped", *TINY, "--data", str(fer_dir), "--out", str(stopped), "--resume")
    torchrun(tmp_path / "dump-whole", *TINY, "--data", str(fer_dir), "--out", str(whole), "--epochs", "2")

    for dump in ("dump-stopped", "dump-whole"):
        for epoch in (0, 1):
            rank0 = torch.load(tmp_path / dump / f"rank0-epoch{epoch}.pt")
            rank1 = torch.load(tmp_path / dump / f"rank1-epoch{epoch}.pt")
            assert same_tensors(rank0, rank1), f"{dump}: the ranks differ after epoch {epoch + 1}"
    start = torch.load(tmp_path / "dump-whole" / "rank0-epoch0.pt")
    end = torch.load(tmp_path / "dump-whole" / "rank0-epoch1.pt")
    assert not same_tensors(start, end)  # the second epoch trained

    # Resumed = uninterrupted, bit for bit, and the checkpoint holds what the processes held.
    a, b = checkpoint(stopped), checkpoint(whole)
    assert a["epoch"] == b["epoch"] == 2
    assert same_tensors(a["model"], b["model"])
    assert same_tensors({k: a["model"][k] for k in end}, end)
    assert [h["train_loss"] for h in a["history"]] == [h["train_loss"] for h in b["history"]]
    # Only rank 0 writes: one set of run files, and the finished run's report.
    assert sorted(p.name for p in (whole / "squeezenet").iterdir()) == [
        "checkpoint.pt", "command.txt", "config.json", "report", "squeezenet.safetensors"]


def test_two_processes_see_each_training_face_once_an_epoch(fer_dir: Path, tmp_path: Path) -> None:
    # The loss and accuracy an epoch reports are over the whole training set, not rank 0's half.
    done = torchrun(tmp_path / "dump", *TINY, "--data", str(fer_dir), "--out", str(tmp_path / "run"), "--epochs", "1")
    history = checkpoint(tmp_path / "run")["history"]
    assert len(history) == 1 and "rank 1 of 2 done" in done.stderr
    assert history[0]["images_per_second"] * history[0]["epoch_seconds"] == pytest.approx(56, abs=0.5)


def test_a_batch_that_does_not_split_evenly_is_refused() -> None:
    assert share_of_batch(128, Ranks(0, 2, 0, 2)) == 64
    with pytest.raises(ValueError, match="--batch-size 7 does not split evenly over 2 processes"):
        share_of_batch(7, Ranks(1, 2, 1, 2))
