"""Fuse trained networks into the ensemble: the fusion weights are chosen on PublicTest.

``fer-desktop-train --model ensemble`` fuses the runs it trained, one per
architecture. Further members of the same architectures, trained
independently (another seed, another schedule), join with this command; each
is named by its architecture and a tag, and lies beside the JSON as
``NAME.safetensors``:

    python -m trainer.fuse --data ../shared/data/fer2013.zip --out runs/ensemble3 \\
        resnet18=weights/resnet18.safetensors vgg19=weights/vgg19.safetensors \\
        vgg19-2=runs/vgg-scratch/vgg19/vgg19.safetensors

Every split of the weight into twentieths is tried; the best single-crop
PublicTest accuracy wins, and of equal ones the split nearest an even one.
"""

from __future__ import annotations

import argparse
import itertools
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from fer_desktop.cli import EXIT_INTERRUPTED, add_device, describe_os_error, shared_flags
from fer_desktop.export.outputs import OutputError, make_folders_and_check, same_file
from fer_desktop.inference import resolve_device
from fer_desktop.models import MODEL_NAMES, get_model
from fer_desktop.weights import WeightsError, load_model, member_architecture, member_path, save_ensemble
from trainer.data import DataError, FerData, describe_data, load_fer
from trainer.predict import predict_probs
from trainer.report import write_report

STEPS = 20  # fusion weights are multiples of 1/20: exact decimals in the JSON (0.45, not 0.44999999999999996)


def splits(members: int, steps: int = STEPS) -> list[tuple[float, ...]]:
    """Every way to share a weight of 1 among ``members`` in multiples of 1/steps, the first member's largest first."""
    parts = [c for c in itertools.product(range(steps + 1), repeat=members - 1) if sum(c) <= steps]
    return sorted((tuple(round(i / steps, 2) for i in (*c, steps - sum(c))) for c in parts), reverse=True)


def search_fusion(probs: Sequence[np.ndarray], labels: np.ndarray) -> tuple[tuple[float, ...], dict[str, float]]:
    """The fusion weights with the best accuracy (nearest an even split among equals), and every split's accuracy."""
    candidates = splits(len(probs))
    accs = [float((sum(w * p for w, p in zip(ws, probs)).argmax(1) == labels).mean()) for ws in candidates]
    even = 1 / len(probs)
    best = max(range(len(candidates)), key=lambda i: (accs[i], -sum((w - even) ** 2 for w in candidates[i])))
    return candidates[best], {"/".join(f"{w:.2f}" for w in ws): a for ws, a in zip(candidates, accs)}


def fuse(members: dict[str, Path], data: FerData, trained_on: str, out_dir: Path, name: str, device: str) -> Path:
    """Copy the members' files into ``out_dir``, choose their fusion weights and write NAME.json and its report."""
    entry = get_model(name)
    for member in members:
        if member_architecture(member) not in entry.members:
            raise ValueError(f"{member!r} is not a member name for {name}: give one of {', '.join(entry.members)}, "
                             f"or one of them with a tag such as {entry.members[-1]}-2")
    out_dir.mkdir(parents=True, exist_ok=True)
    val_x, val_y = data.select("public")
    probs = []
    for member, src in members.items():
        model, spec, _ = load_model(src, member_architecture(member))
        dst = member_path(member, out_dir)
        if Path(src).resolve() != dst.resolve():
            shutil.copy2(src, dst)
        probs.append(predict_probs(model.to(device), spec, val_x, device))
    weights, search = search_fusion(probs, val_y)
    save_ensemble(out_dir / entry.weights_name, dict(zip(members, weights)), {
        "public_accuracy": search["/".join(f"{w:.2f}" for w in weights)], "trained_on": trained_on,
        "fusion_search": search,
    })
    print(f"{name}: " + " + ".join(f"{w:.2f} x {m}" for m, w in zip(members, weights))
          + f" gives PublicTest {max(search.values()):.2%}", file=sys.stderr)
    write_report(out_dir, name, data, device, history=None)
    return out_dir


def parse_member(text: str) -> tuple[str, Path]:
    member, eq, path = text.partition("=")
    if not eq or not member or not path:
        raise argparse.ArgumentTypeError(f"{text!r}: give NAME=FILE, e.g. vgg19-2=runs/x/vgg19/vgg19.safetensors")
    return member, Path(path)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m trainer.fuse", description=__doc__.split("\n\n")[0],
                                parents=[shared_flags("overwrite")])
    p.add_argument("members", nargs="+", type=parse_member, metavar="NAME=FILE",
                   help="a member's name (its architecture, with a tag for a further one: vgg19-2) and weights file")
    p.add_argument("--out", required=True, type=Path, help="the folder for the fusion's JSON, its members and report")
    p.add_argument("--data", required=True, help="FER-2013: the Kaggle folder, its .zip, or fer2013.csv")
    fusions = [n for n in MODEL_NAMES if get_model(n).is_fusion]
    p.add_argument("--model", default=fusions[0], choices=fusions, help="the fusion to make (default: %(default)s)")
    add_device(p)
    args = p.parse_args(argv)
    members = dict(args.members)
    if len(members) != len(args.members) or len(members) < 2:
        p.error("give two or more members, each name once")
    # A member already in --out stays where it is; every other file written there must be new, or --overwrite.
    outputs = [("--out", args.out / get_model(args.model).weights_name)] + [
        ("--out", member_path(m, args.out)) for m, src in members.items() if not same_file(src, member_path(m, args.out))]
    try:
        make_folders_and_check(outputs, overwrite=args.overwrite)
    except OutputError as e:
        p.error(str(e))
    try:
        fuse(members, load_fer(args.data), describe_data(args.data), args.out, args.model, resolve_device(args.device))
    except (DataError, WeightsError, ValueError) as e:
        raise SystemExit(f"fuse: {e}")
    except OSError as e:
        raise SystemExit(f"fuse: {describe_os_error(e)}")
    except KeyboardInterrupt:
        print("fuse: interrupted", file=sys.stderr)
        raise SystemExit(EXIT_INTERRUPTED)


if __name__ == "__main__":
    main()
