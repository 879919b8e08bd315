"""The report's PNGs: each face's emotion timeline and its share of time per emotion."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from fer_desktop.emotions import EMOTIONS  # noqa: E402
from fer_desktop.export.files import replace_atomically  # noqa: E402
from fer_desktop.report.summary import FaceTotals  # noqa: E402
from fer_desktop.ui.palette import EMOTION_COLORS  # noqa: E402

COLORS = [EMOTION_COLORS[name].name() for name in EMOTIONS]  # the window's colours, as "#rrggbb"


def _save(fig: plt.Figure, path: Path) -> None:
    fig.tight_layout()
    with replace_atomically(path) as tmp:
        fig.savefig(tmp, format="png")
    plt.close(fig)


def _relative(face: FaceTotals) -> str:
    """The title's note that the face is read relative to its neutral baseline where one was set."""
    return ", relative to its neutral baseline where set" if face.baseline_rows else ""


def plot_timeline(face: FaceTotals, path: Path) -> None:
    """Stacked areas of the face's mean probabilities per time bin (bins widen for long recordings)."""
    times, probs = face.timeline.series()
    fig, ax = plt.subplots(figsize=(9, 2.6), dpi=100)
    if len(times):
        ax.stackplot(times, probs.T, colors=COLORS, labels=EMOTIONS, step="mid")
        ax.set_xlim(times[0] - face.timeline.width_s / 2, times[-1] + face.timeline.width_s / 2)
    ax.set_ylim(0, 1)
    ax.set_xlabel(f"seconds into the recording (bins of {face.timeline.width_s:g} s)")
    ax.set_ylabel("probability")
    ax.set_title(f"Face #{face.face_id}: emotions over time{_relative(face)}", fontsize=10)
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8, frameon=False)
    _save(fig, path)


def plot_distribution(face: FaceTotals, path: Path) -> None:
    """One bar per emotion: the share of the face's time it was the top label."""
    shares = face.label_seconds / face.seconds if face.seconds > 0 else np.zeros(len(EMOTIONS))
    fig, ax = plt.subplots(figsize=(5, 2.6), dpi=100)
    ax.barh(range(len(EMOTIONS)), shares, color=COLORS)
    ax.set_yticks(range(len(EMOTIONS)), EMOTIONS)
    ax.invert_yaxis()
    ax.set_xlim(0, 1)
    for i, share in enumerate(shares):
        ax.text(min(share + 0.01, 0.9), i, f"{share:.0%}", va="center", fontsize=8)
    ax.set_xlabel("share of time as the top emotion")
    ax.set_title(f"Face #{face.face_id}: {face.seconds:.1f} s seen{_relative(face)}", fontsize=10)
    _save(fig, path)
