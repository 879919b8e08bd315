"""How long fer-desktop-report takes on a long recording, and how much memory it needs.

    python benchmarks/report_speed.py                  # one hour, 30 fps, 3 faces: 324,000 rows

Writes a synthetic recording with the app's own columns (each face drifting
through the emotions), then times the summary alone and the whole report, and
reads the peak resident memory after each.
"""

from __future__ import annotations

import argparse
import csv
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from fer_desktop.emotions import EMOTIONS
from fer_desktop.export import CSV_COLUMNS


def write_session_csv(path: Path, seconds: float, fps: float = 30.0, faces: int = 3, extra: bool = True) -> int:
    """A recording of ``faces`` faces over ``seconds``; ``extra`` False leaves out the columns after ``model``.

    Face k shows emotion ``(k + t // 20) % 7`` most strongly: a change every 20 s. Returns the row count.
    """
    columns = list(CSV_COLUMNS) if extra else list(CSV_COLUMNS[: CSV_COLUMNS.index("model") + 1])
    frames = int(seconds * fps)
    rows = 0
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(columns)
        for frame in range(frames):
            t = frame / fps
            for k in range(faces):
                top = (k + int(t // 20)) % len(EMOTIONS)
                probs = np.full(len(EMOTIONS), 0.05)
                probs[top] = 0.7 if k != 2 else 0.25  # face 3 (0.45 once normalised) is uncertain
                probs /= probs.sum()
                row = {"time_s": f"{t:.3f}", "frame": frame, "face_id": k + 1, "x": 10 + 100 * k, "y": 10, "w": 80,
                       "h": 80, **{name: f"{p:.4f}" for name, p in zip(EMOTIONS, probs)}, "label": EMOTIONS[top],
                       "confidence": f"{probs.max():.4f}", "model": "squeezenet", "confident": int(probs.max() >= 0.5),
                       "face_px": "80.0" if k != 1 else "12.0", "brightness": "120.0", "sharpness": "2000.0"}
                writer.writerow([row.get(c, "") for c in columns])
                rows += 1
    return rows


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seconds", type=float, default=3600.0)
    p.add_argument("--faces", type=int, default=3)
    args = p.parse_args(argv)
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from common import announce_machine

    from fer_desktop.report.cli import write_report
    from fer_desktop.report.summary import summarise

    announce_machine()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "session.csv"
        rows = write_session_csv(path, args.seconds, faces=args.faces)
        size = path.stat().st_size / 2**20
        before = peak_mib()
        t = time.perf_counter()
        summarise(path, 0.5)
        summary_s = time.perf_counter() - t
        after_summary = peak_mib()
        t = time.perf_counter()
        write_report(path, Path(folder) / "report")
        report_s = time.perf_counter() - t
        print(f"{rows} rows ({size:.0f} MiB CSV): summary {summary_s:.1f} s, whole report {report_s:.1f} s; "
              f"peak memory {before:.0f} MiB before, {after_summary:.0f} MiB after the summary, {peak_mib():.0f} MiB "
              "after the report (figures included)")


if __name__ == "__main__":
    main()
