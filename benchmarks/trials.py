"""Training tried and not shipped: each trial's weights measured on PublicTest, kept for the model card.

    python benchmarks/trials.py --data path/to/fer2013.zip --model resnet18 --weights runs/rn-kd/resnet18 \\
        --what "fine-tuned from the shipped file, distilled from the ensemble"
    python benchmarks/trials.py --data path/to/fer2013.zip --model ensemble --weights runs/fuse3 \\
        --what "a third member" --made-with "python -m trainer.fuse --data fer2013.zip --out runs/fuse3 ..."

A trial is measured exactly as ``fer-desktop-eval --model MODEL --weights DIR``
measures a model (PyTorch, single crop, mirror-averaged where the app averages),
and recorded in benchmarks/results/trials.json with the command that made its
weights (the trainer's own record in the file, or ``--made-with``) and this
machine. ``benchmarks/model_card.py`` lists the trials under each model as its
ablation: what was tried, and what it scored beside the shipped file. Measuring
the same model and weights folder again replaces the earlier record.
"""

from __future__ import annotations

import argparse
import datetime
import json
import sys
from pathlib import Path

from common import RESULTS_DIR, announce_machine, describe_machine, shown_path  # noqa: E402  (adds the repo to sys.path)

from fer_desktop.export.files import write_json
from fer_desktop.models import MODEL_NAMES, get_model
from fer_desktop.weights import WeightsError, read_info, weights_path
from trainer.data import DataError
from trainer.evaluate import evaluate

TRIALS = RESULTS_DIR / "trials.json"


def read_trials(path: Path = TRIALS) -> list[dict]:
    """The recorded trials; none where the file is missing."""
    return json.loads(path.read_text())["trials"] if path.is_file() else []


def record(trials: list[dict], trial: dict) -> list[dict]:
    """``trials`` with ``trial`` in place of an earlier one of the same model and weights folder."""
    return [t for t in trials if (t["model"], t["weights"]) != (trial["model"], trial["weights"])] + [trial]


def recorded_command(model: str, folder: Path) -> str | None:
    """The command a weights file says made it; None for a fusion (its JSON records none) or a file without it."""
    if get_model(model).is_fusion:
        return None
    try:
        return read_info(weights_path(model, folder)).get("command")
    except (WeightsError, OSError, ValueError):
        return None


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", required=True, help="FER-2013 (Kaggle folder, .zip or fer2013.csv)")
    p.add_argument("--model", required=True, choices=MODEL_NAMES)
    p.add_argument("--weights", required=True, type=Path, help="the trial's weights folder, as the app reads one")
    p.add_argument("--what", required=True, help="what was tried, in a few words")
    p.add_argument("--made-with", help="the command that made the weights, where the file does not record it "
                   "(a fusion or a weight average)")
    p.add_argument("--out", type=Path, default=TRIALS, help="the record to update (default: %(default)s)")
    args = p.parse_args(argv)
    info = announce_machine()
    try:
        metrics = evaluate(argparse.Namespace(model=args.model, weights=args.weights, data=args.data, split="public",
                                              tta=False, backend="torch", device="cpu", json=None))
    except (DataError, WeightsError) as e:
        raise SystemExit(f"trials: {e}")
    made_with = args.made_with or recorded_command(args.model, args.weights)
    trial = {"model": args.model, "weights": shown_path(args.weights), "what": args.what,
             "made_with": made_with, "public_accuracy": metrics["accuracy"], "faces": metrics["n"],
             "machine": describe_machine(info), "date": datetime.date.today().isoformat()}
    write_json(args.out, {"trials": record(read_trials(args.out), trial)})
    print(f"{args.model} from {trial['weights']}: PublicTest {metrics['accuracy']:.2%} single crop; "
          f"recorded in {shown_path(args.out)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
