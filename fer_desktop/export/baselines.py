"""The neutral baselines of a recording, in a JSON file beside its CSV: ``NAME.baselines.json``.

The CSV keeps the model's own probabilities; its ``baseline`` column names the
baseline (by number) in effect for each row, and this file holds each
baseline's resting reading, so the correction can be applied again (the
report does) and nothing in the CSV is altered.
"""

from __future__ import annotations

import json
from pathlib import Path

from fer_desktop.export.files import write_json
from fer_desktop.pipeline.baseline import NeutralBaseline

FORMAT = "fer-desktop neutral baselines 1"


class BaselineFileError(ValueError):
    """The baselines file cannot be used; the message names it and what to do."""


def baselines_path(csv_path: Path) -> Path:
    return Path(csv_path).with_name(f"{Path(csv_path).stem}.baselines.json")


def write_baselines(csv_path: Path, baselines: list[NeutralBaseline]) -> None:
    """(Re)write the file beside ``csv_path`` atomically, baselines in number order."""
    write_json(baselines_path(csv_path), {
        "format": FORMAT, "csv": Path(csv_path).name,
        "correction": "q = normalise(p * t / b), t = b with its top and neutral entries swapped "
                      "(fer_desktop/pipeline/baseline.py)",
        "baselines": [b.to_dict() for b in sorted(baselines, key=lambda b: b.number)],
    })


def read_baselines(csv_path: Path) -> dict[int, NeutralBaseline]:
    """The baselines recorded with ``csv_path`` by number; empty when it has no baselines file."""
    path = baselines_path(csv_path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise BaselineFileError(f"{path}: cannot be read ({e}); restore it or pass --ignore-baselines") from None
    try:
        if data.get("format") != FORMAT:
            raise ValueError(f"format {data.get('format')!r}, expected {FORMAT!r}")
        return {b.number: b for b in map(NeutralBaseline.from_dict, data["baselines"])}
    except (AttributeError, KeyError, TypeError, ValueError) as e:
        raise BaselineFileError(f"{path}: not a baselines file this version reads ({e}); "
                                "restore it or pass --ignore-baselines") from None
