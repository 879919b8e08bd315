"""fer-desktop-report: a recording's CSV into DIR/summary.json, per-face PNGs and one self-contained report.html.

    fer-desktop-report session.csv --out session-report
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import sys
import tempfile
from pathlib import Path

from fer_desktop.calibration import DEFAULT_UNCERTAIN_BELOW
from fer_desktop.cli import add_version_flag, interruptible
from fer_desktop.export.files import write_json
from fer_desktop.export.outputs import folder_problem
from fer_desktop.report.summary import ReportError, SessionSummary, summarise

MAX_PLOTTED = 20  # faces with figures, the longest seen first; the others are in the table and the JSON


def _safe(face_id: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]", "_", face_id)


def report_folder(csv_path: Path) -> Path:
    """A folder beside the recording that does not exist yet: ``NAME-report``, else ``NAME-report-2``, …"""
    folder = csv_path.with_name(f"{csv_path.stem}-report")
    n = 2
    while folder.exists():
        folder = csv_path.with_name(f"{csv_path.stem}-report-{n}")
        n += 1
    return folder


def write_report(csv_path: Path, out: Path, uncertain_below: float = DEFAULT_UNCERTAIN_BELOW,
                 overwrite: bool = False, use_baselines: bool = True) -> Path:
    """Summarise ``csv_path`` and write the report into ``out``; returns report.html's path.

    Raises ``ReportError`` for a CSV that is not a recording and ``FileExistsError`` naming a file that
    would be replaced (unless ``overwrite``), or one that is not an earlier report's (whatever ``overwrite``).
    With ``overwrite``, the figures of an earlier report that the new one does not replace are removed: the
    folder then holds one report, not two mixed.
    """
    from fer_desktop.report.figures import plot_distribution, plot_timeline
    from fer_desktop.report.html import render

    earlier = _earlier_figures(out)  # checked before the CSV, which may take a while to read
    summary: SessionSummary = summarise(csv_path, uncertain_below, use_baselines)
    plotted = sorted(summary.faces.values(), key=lambda f: f.seconds, reverse=True)[:MAX_PLOTTED]
    figures = _figure_paths(out, [f.face_id for f in plotted])
    targets = [*(p for paths in figures.values() for p in paths), out / "summary.json", out / "report.html"]
    if not overwrite:
        taken = next((p for p in targets if p.exists()), None)
        if taken is not None:
            raise FileExistsError(f"{taken} exists; choose another --out folder or pass --overwrite")
    out.mkdir(parents=True, exist_ok=True)
    # Every file is made in a staging folder first: a failure (a full disk) leaves the earlier report whole.
    staging = Path(tempfile.mkdtemp(prefix=".report-partial-", dir=out))
    try:
        staged = {face_id: [staging / path.name for path in paths] for face_id, paths in figures.items()}
        for face in plotted:
            timeline, distribution = staged[face.face_id]
            plot_timeline(face, timeline)
            plot_distribution(face, distribution)
        data = {**summary.to_dict(), "plotted": list(figures)}
        write_json(staging / "summary.json", data)
        (staging / "report.html").write_text(render(data, staged), encoding="utf-8")
        for target in targets:  # renames in one folder; report.html, which names the others, comes last
            os.replace(staging / target.name, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    for stale in set(earlier) - set(targets):
        stale.unlink(missing_ok=True)
    return out / "report.html"


def _figure_paths(out: Path, face_ids: list[str]) -> dict[str, list[Path]]:
    """Each face's timeline and distribution PNGs in ``out``; ids that read alike as file names ("a b", "a_b",
    or "A" and "a" on a case-blind disk) get -2, -3, … so no face's figure replaces another's."""
    paths, used = {}, set()
    for face_id in face_ids:
        name, n = _safe(face_id), 2
        while name.lower() in used:
            name, n = f"{_safe(face_id)}-{n}", n + 1
        used.add(name.lower())
        paths[face_id] = [out / f"face-{name}-timeline.png", out / f"face-{name}-distribution.png"]
    return paths


def _earlier_figures(out: Path) -> list[Path]:
    """The figures of the report ``out/summary.json`` describes (none where there is none); ``FileExistsError``
    where that file is not a report's summary (a headless run's, say), which is never replaced."""
    path = out / "summary.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return []
    except (OSError, UnicodeDecodeError, ValueError):
        data = None
    plotted = data.get("plotted") if isinstance(data, dict) and "uncertain_from" in data else None
    if not isinstance(plotted, list):
        raise FileExistsError(f"{path} exists and is not the summary of a report (fer-desktop-report never "
                              "replaces it, even with --overwrite); choose another --out folder")
    return [p for paths in _figure_paths(out, [str(face_id) for face_id in plotted]).values() for p in paths]


@interruptible("fer-desktop-report")
def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="fer-desktop-report", description=__doc__.split("\n\n")[0])
    add_version_flag(p)
    p.add_argument("csv", type=Path, metavar="SESSION.csv", help="a recording (the window's Record or --headless --csv)")
    p.add_argument("--out", type=Path, required=True, metavar="DIR", help="folder for summary.json, the PNGs and report.html")
    p.add_argument("--uncertain-below", type=float, default=DEFAULT_UNCERTAIN_BELOW, metavar="P",
                   help="for CSVs without a 'confident' column: a row is uncertain when its confidence is below P "
                   "(default: %(default)s)")
    p.add_argument("--overwrite", action="store_true", help="replace the files of an earlier report in DIR")
    p.add_argument("--ignore-baselines", action="store_true",
                   help="summarise the model's own probabilities even where a neutral baseline was set "
                   "(by default rows with one are read relative to it, from SESSION.baselines.json)")
    args = p.parse_args(argv)
    if not 0.0 <= args.uncertain_below <= 1.0:
        p.error("--uncertain-below must lie in [0, 1]")
    if not args.csv.is_file():
        p.error(f"{args.csv}: file not found; give the CSV a recording wrote")
    problem = folder_problem(args.out, "the report")
    if problem:
        p.error(f"--out {args.out}: {problem}")
    try:
        html = write_report(args.csv, args.out, args.uncertain_below, args.overwrite, not args.ignore_baselines)
    except FileExistsError as e:
        print(f"fer-desktop-report: {e}", file=sys.stderr)
        return 2
    except ReportError as e:
        print(f"fer-desktop-report: {e}", file=sys.stderr)
        return 1
    except OSError as e:
        print(f"fer-desktop-report: cannot write to {args.out}: {e.strerror or e}", file=sys.stderr)
        return 1
    print(f"wrote {html}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
