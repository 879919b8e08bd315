"""Weight averaging: one model from several runs of the same architecture that started from the same weights.

Warm restarts of one file (``fer-desktop-train --init``) end in one basin of the loss, and the average of
their weights often beats each of them: a "greedy soup" (Wortsman et al., 2022). Runs join in order of their
own PublicTest accuracy, each only when the average with it is no worse there; BatchNorm statistics are
averaged with the rest, or measured anew where that does better (``trainer.recalibrate``).

    python -m trainer.soup --data ../shared/data/fer2013.zip --out weights/vgg19.safetensors \\
        weights/vgg19.safetensors runs/vgg19-r4/vgg19/vgg19.safetensors runs/vgg19-r5/vgg19/vgg19.safetensors
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch

from fer_desktop.cli import EXIT_INTERRUPTED, add_device, describe_os_error, shared_flags
from fer_desktop.export.outputs import OutputError, make_folders_and_check, same_file
from fer_desktop.inference import resolve_device
from fer_desktop.weights import WeightsError, load_model, read_info, run_record, save_weights
from trainer.data import DataError
from trainer.predict import predict_probs
from trainer.recalibrate import faces_to_measure_on, recalibrate_as_stored, sample

State = dict[str, torch.Tensor]


def average_states(states: list[State], shares: list[float] | None = None) -> State:
    """The mean (or the mean weighted by ``shares``) of every floating-point tensor, rounded as the fp16 file
    will hold it; counters from the first."""
    w = torch.tensor(shares or [1 / len(states)] * len(states))
    return {
        k: (torch.stack([s[k].float() for s in states]) * w.view(-1, *[1] * v.dim())).sum(0).half().float()
        if v.is_floating_point() else v
        for k, v in states[0].items()
    }


def nested(meta: dict) -> dict:
    """An input that is itself an average keeps the record of its own runs: the command of its best run alone
    would pass it off as that run."""
    return {"soup": meta["soup"]} if meta.get("soup") else {}


def public_accuracy(model: torch.nn.Module, spec, val_faces: np.ndarray, val_labels: np.ndarray, device: str) -> float:
    return float((predict_probs(model, spec, val_faces, device).argmax(1) == val_labels).mean())


def judge_state(model: torch.nn.Module, spec, state: State, train_faces: np.ndarray, val_faces: np.ndarray,
                val_labels: np.ndarray, device: str) -> tuple[float, State, dict]:
    """The better of averaged and recalibrated BatchNorm statistics for ``state``: PublicTest accuracy, that
    state, and the BatchNorm record. ``train_faces`` is already sampled."""
    model.load_state_dict(state)
    averaged = public_accuracy(model, spec, val_faces, val_labels, device)
    recalibrate_as_stored(model, spec, train_faces, device)
    measured = public_accuracy(model, spec, val_faces, val_labels, device)
    bn = {"recalibrated": measured > averaged, "faces": 2 * len(train_faces),
          "public_accuracy_trained": averaged, "public_accuracy_recalibrated": measured}
    if measured > averaged:
        return measured, {k: v.clone() for k, v in model.state_dict().items()}, bn
    return averaged, state, bn


def mix(paths: list[Path], share: float, train_faces: np.ndarray, val_faces: np.ndarray, val_labels: np.ndarray,
        device: str = "cpu") -> tuple[torch.nn.Module, dict]:
    """``(1 - share)`` of the first file's weights plus ``share`` of the second's, and its record.

    Weight-space ensembling of a fine-tune with the model it started from (WiSE-FT, Wortsman et al., 2022): a
    fine-tune for new conditions (``--aug-degrade``) keeps most of what it learned there, and the mix wins back
    most of the clean accuracy the fine-tune gave up.
    """
    (base, spec, base_info), (tuned, _, tuned_info) = (load_model(p) for p in paths)
    if base_info["architecture"] != tuned_info["architecture"]:
        raise WeightsError(f"{paths[0]} and {paths[1]} hold different architectures")
    states = [{k: v.clone() for k, v in m.state_dict().items()} for m in (base, tuned)]
    base.to(device)
    own = []
    for state in states:
        base.load_state_dict(state)
        own.append(public_accuracy(base, spec, val_faces, val_labels, device))
    acc, state, bn = judge_state(base, spec, average_states(states, [1 - share, share]), sample(train_faces),
                                 val_faces, val_labels, device)
    base.load_state_dict(state)
    record = run_record(tuned_info)
    record.update(public_accuracy=acc, batchnorm=bn)
    record["soup"] = {
        "mix": share, "public_accuracy_best_run": max(own),
        "runs": [{"file": str(p), "public_accuracy": a, "command": info.get("command"), "share": w, "averaged": True,
                  **nested(info)} for p, a, info, w in zip(paths, own, (base_info, tuned_info), (1 - share, share))],
    }
    print(f"{paths[0]} ({own[0]:.2%}) and {share:.2f} of {paths[1]} ({own[1]:.2%}): PublicTest {acc:.2%}",
          file=sys.stderr)
    return base.eval(), record


def greedy_soup(paths: list[Path], train_faces: np.ndarray, val_faces: np.ndarray, val_labels: np.ndarray,
                device: str = "cpu") -> tuple[torch.nn.Module, dict]:
    """The best average of the weights files at ``paths`` on PublicTest (fp32, single crop), and its record.

    Each average is judged twice: with its averaged BatchNorm statistics and with statistics measured anew
    on ``train_faces``; the better counts.
    """
    loaded = [load_model(p) for p in paths]
    archs = {info["architecture"] for _, _, info in loaded}
    if len(archs) > 1:
        raise WeightsError(f"only weights of one architecture can be averaged; these hold {', '.join(sorted(archs))}")
    states = [{k: v.clone() for k, v in m.state_dict().items()} for m, _, _ in loaded]
    model, spec, _ = loaded[0]  # evaluates every candidate: its own tensors change, the copies above do not
    model.to(device)
    train_faces = sample(train_faces)

    def accuracy() -> float:
        return public_accuracy(model, spec, val_faces, val_labels, device)

    def judge(state: State) -> tuple[float, State, dict]:
        return judge_state(model, spec, state, train_faces, val_faces, val_labels, device)

    own = []
    for state in states:
        model.load_state_dict(state)
        own.append(accuracy())
    order = sorted(range(len(paths)), key=lambda i: -own[i])
    kept, (best, best_state, best_bn) = [order[0]], (own[order[0]], states[order[0]], None)
    print(f"{paths[order[0]]}: PublicTest {best:.2%}, the best run: the soup starts from it", file=sys.stderr)
    for i in order[1:]:
        acc, state, bn = judge(average_states([states[j] for j in kept + [i]]))
        joins = acc >= best
        print(f"{paths[i]}: PublicTest {own[i]:.2%} alone; averaged in: {acc:.2%} "
              f"({'joins' if joins else 'left out'})", file=sys.stderr)
        if joins:
            kept, best, best_state, best_bn = kept + [i], acc, state, bn
    model.load_state_dict(best_state)
    record = run_record(loaded[order[0]][2])
    if best_bn is not None:  # an average: its statistics are the soup's own, not the best run's
        record["batchnorm"] = best_bn
    record["public_accuracy"] = best
    record["soup"] = {
        "public_accuracy_best_run": own[order[0]],
        "runs": [{"file": str(paths[i]), "public_accuracy": own[i], "command": loaded[i][2].get("command"),
                  "averaged": i in kept, **nested(loaded[i][2])} for i in order],
    }
    return model.eval(), record


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m trainer.soup", description=__doc__.split("\n\n")[0],
                                parents=[shared_flags("overwrite")])
    p.add_argument("weights", nargs="+", type=Path, help="weights files (.safetensors) of one architecture")
    p.add_argument("--out", required=True, type=Path,
                   help="the averaged weights file to write: one of the inputs, which it replaces, or a new file")
    p.add_argument("--data", required=True, help="FER-2013: the Kaggle folder, its .zip, or fer2013.csv")
    add_device(p)
    p.add_argument("--mix", type=float, metavar="SHARE",
                   help="instead of a greedy soup: SHARE of the second file's weights and 1 - SHARE of the first's "
                   "(two files: a model and a fine-tune of it)")
    args = p.parse_args(argv)
    if len(set(map(Path.resolve, args.weights))) < 2:
        raise SystemExit("soup: give two or more different weights files to average")
    if args.mix is not None and (len(args.weights) != 2 or not 0 < args.mix < 1):
        p.error("--mix takes two weights files and a share between 0 and 1")
    if not any(same_file(args.out, w) for w in args.weights):  # replacing an input is what --out is for
        try:
            make_folders_and_check([("--out", args.out)], overwrite=args.overwrite)
        except OutputError as e:
            p.error(str(e))
    try:
        train_x, val_x, val_y = faces_to_measure_on(args.data)
        device = resolve_device(args.device)
        if args.mix is not None:
            model, record = mix(args.weights, args.mix, train_x, val_x, val_y, device)
        else:
            model, record = greedy_soup(args.weights, train_x, val_x, val_y, device)
        save_weights(args.out, read_info(args.weights[0])["architecture"], model.state_dict(), record)
    except (DataError, WeightsError) as e:
        raise SystemExit(f"soup: {e}")
    except OSError as e:
        raise SystemExit(f"soup: {describe_os_error(e)}")
    except KeyboardInterrupt:
        print(f"soup: interrupted; {args.out} is as it was", file=sys.stderr)
        raise SystemExit(EXIT_INTERRUPTED)
    if args.mix is not None:
        return
    runs = sum(r["averaged"] for r in record["soup"]["runs"])
    print(f"{args.out}: the average of {runs} of {len(args.weights)} runs, PublicTest {record['public_accuracy']:.2%} "
          f"(the best run alone: {record['soup']['public_accuracy_best_run']:.2%})", file=sys.stderr)


if __name__ == "__main__":
    main()
