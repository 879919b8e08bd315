"""BatchNorm statistics measured anew on the faces the model will see: un-augmented training faces.

During training BatchNorm keeps running means and variances of augmented batches (shifted, rotated,
zoomed, partly erased, in bf16), while the app and the evaluation show the model plain centre crops.
Measuring the statistics again on plain centre crops of the training faces (and their mirror images)
closes that gap without touching a learned weight; PublicTest decides whether the new statistics stay.

    python -m trainer.recalibrate --data ../shared/data/fer2013.zip weights/vgg19.safetensors
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from fer_desktop.cli import EXIT_INTERRUPTED, add_device, describe_os_error
from fer_desktop.inference import resolve_device
from fer_desktop.models import ModelSpec
from fer_desktop.preprocess import as_tensor, center_crop, normalize
from fer_desktop.weights import WeightsError, load_model, read_info, update_weights
from trainer.data import DataError, load_fer
from trainer.predict import autocast, predict_probs


@torch.no_grad()
def recalibrate_batchnorm(model: nn.Module, spec: ModelSpec, faces: np.ndarray, device: str = "cpu",
                          batch: int = 256, progress: str | None = None, amp: bool = True) -> None:
    """Replace every BatchNorm's running statistics by the average of its batch statistics over ``faces``
    and their mirror images (centre crops, as the app shows them).

    Only the BatchNorm layers run in training mode: dropout stays off, as it is at inference.
    ``amp``: the passes in bf16 where the hardware has it, as training ran them: about twice as fast
    on a CPU with bf16 units, and a mean over millions of activations is not moved by bf16's rounding
    (PublicTest still decides whether the statistics stay).
    """
    norms = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    model.eval()
    momenta = [bn.momentum for bn in norms]
    for bn in norms:
        bn.reset_running_stats()
        bn.momentum = None  # a cumulative average: every batch counts the same
        bn.train()
    starts = range(0, len(faces), batch)
    with autocast(device, amp):
        for i in tqdm(starts, desc=progress, unit="batch", file=sys.stderr, disable=progress is None):
            centre = center_crop(as_tensor(faces[i : i + batch]).to(device), spec.input_size)
            model(normalize(torch.cat([centre, centre.flip(-1)]), spec).contiguous(memory_format=torch.channels_last))
    for bn, momentum in zip(norms, momenta):
        bn.momentum = momentum
    model.eval()


# Statistics of 2 x 10,000 faces are as good as of all 2 x 28,709 (a channel's mean and variance, no more),
# in a third of the time: ResNet18 at 44 px takes minutes a pass on a 2-core CPU.
SAMPLE = 10_000


def sample(train_faces: np.ndarray) -> np.ndarray:
    """The same SAMPLE training faces on every call."""
    if len(train_faces) <= SAMPLE:
        return train_faces
    return train_faces[np.random.default_rng(0).choice(len(train_faces), SAMPLE, replace=False)]


def recalibrate_as_stored(model: nn.Module, spec: ModelSpec, faces: np.ndarray, device: str = "cpu") -> None:
    """recalibrate_batchnorm, then the statistics rounded as the fp16 file will hold them."""
    recalibrate_batchnorm(model, spec, faces, device, progress="recalibrating BatchNorm")
    for buffer in model.buffers():
        if buffer.is_floating_point():
            buffer.copy_(buffer.half())


def recalibrate_weights(path: Path, train_faces: np.ndarray, val_faces: np.ndarray, val_labels: np.ndarray,
                        device: str = "cpu") -> dict:
    """Recalibrate the weights file at ``path`` in place when that raises its PublicTest accuracy (fp32,
    single crop, as the app runs it); either way the file records the attempt. Returns that record."""
    model, spec, _ = load_model(path)
    model.to(device)
    train_faces = sample(train_faces)

    def accuracy() -> float:
        return float((predict_probs(model, spec, val_faces, device).argmax(1) == val_labels).mean())

    before = accuracy()
    recalibrate_as_stored(model, spec, train_faces, device)
    after = accuracy()
    kept = after > before
    record = {
        "recalibrated": kept, "faces": 2 * len(train_faces),
        "public_accuracy_trained": before, "public_accuracy_recalibrated": after,
    }
    print(f"{path.name}: BatchNorm statistics recalibrated on {len(train_faces)} training faces and their mirrors: "
          f"PublicTest {before:.2%} -> {after:.2%} ({'kept' if kept else 'not kept; the trained ones stay'})",
          file=sys.stderr)
    if kept:
        update_weights(path, {"batchnorm": record, "public_accuracy": after}, model.state_dict())
    else:
        update_weights(path, {"batchnorm": record})
    return record


def faces_to_measure_on(data_path: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Training faces to measure statistics on, and PublicTest faces and labels to judge by."""
    data = load_fer(data_path)
    train_x, _ = data.select("train")
    val_x, val_y = data.select("public")
    if len(train_x) == 0 or len(val_y) == 0:
        raise DataError(f"{data_path}: this needs training faces, and PublicTest faces to check on")
    return train_x, val_x, val_y


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m trainer.recalibrate", description=__doc__.split("\n\n")[0])
    p.add_argument("weights", nargs="+", type=Path, help="weights files (.safetensors) to recalibrate in place")
    p.add_argument("--data", required=True, help="FER-2013: the Kaggle folder, its .zip, or fer2013.csv")
    add_device(p)
    args = p.parse_args(argv)
    try:
        train_x, val_x, val_y = faces_to_measure_on(args.data)
        device = resolve_device(args.device)
        for path in args.weights:
            if "batchnorm" in read_info(path):
                print(f"{path}: already recalibrated once; left as it is", file=sys.stderr)
                continue
            recalibrate_weights(path, train_x, val_x, val_y, device)
    except (DataError, WeightsError) as e:
        raise SystemExit(f"recalibrate: {e}")
    except OSError as e:
        raise SystemExit(f"recalibrate: {describe_os_error(e)}")
    except KeyboardInterrupt:
        print("recalibrate: interrupted; every file is either as it was or recalibrated whole", file=sys.stderr)
        raise SystemExit(EXIT_INTERRUPTED)


if __name__ == "__main__":
    main()
