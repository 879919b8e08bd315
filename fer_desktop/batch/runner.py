"""A batch from start to end: plan (fingerprints, duplicates, what is already done), dispatch, write, report.

Only this module writes into the output folder, and only from the command's
own thread: each video's CSV and summary atomically, then the index.
"""

from __future__ import annotations

import json
import signal
import sys
import threading
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import cv2
from tqdm import tqdm

from fer_desktop.batch.fingerprint import Fingerprint, files_digest, fingerprint
from fer_desktop.batch.index import BatchIndex, csv_name, only_writer, summary_name
from fer_desktop.batch.inputs import Video
from fer_desktop.batch.pool import OnDone, OnFrames
from fer_desktop.batch.task import Settings, VideoResult
from fer_desktop.export.files import replace_atomically, write_json
from fer_desktop.pipeline.sources import quiet_opencv

# Runs the videos at these paths, calling back as frames and videos end, until done or ``stop`` is set.
Dispatch = Callable[[Sequence[str], OnFrames, OnDone, threading.Event], None]


@dataclass
class Plan:
    todo: list[Video] = field(default_factory=list)
    skipped: list[Video] = field(default_factory=list)
    duplicates: list[tuple[Video, Video]] = field(default_factory=list)  # (video, the one analysed for it)
    unreadable: list[tuple[Video, str]] = field(default_factory=list)
    fingerprints: dict[str, Fingerprint] = field(default_factory=dict)


@dataclass
class Outcome:
    counts: Counter[str]  # per status: done, failed, skipped, duplicate, interrupted, pending
    stopped: bool
    index_path: Path


def plan_batch(videos: Sequence[Video], index: BatchIndex, settings: dict[str, Any]) -> Plan:
    """Which videos to analyse: readable, not a copy of an earlier one, not already complete and unchanged."""
    plan = Plan()
    readable: list[Video] = []
    for video in videos:
        try:
            plan.fingerprints[video.name] = fingerprint(video.path)
            readable.append(video)
        except OSError as e:
            plan.unreadable.append((video, f"{video.path}: cannot be read ({e.strerror or e})"))
    originals = _originals(readable, plan.fingerprints)
    for video in readable:
        original = originals.get(video.name)
        if original is not None:
            plan.duplicates.append((video, original))
        elif index.is_complete(video.name, plan.fingerprints[video.name], settings):
            plan.skipped.append(video)
        else:
            plan.todo.append(video)
    return plan


def _originals(videos: Sequence[Video], fingerprints: dict[str, Fingerprint]) -> dict[str, Video]:
    """For each video whose bytes equal an earlier one's, that earlier one (same size and head, then whole file)."""
    candidates: dict[tuple[int, str], list[Video]] = {}
    for video in videos:
        fp = fingerprints[video.name]
        candidates.setdefault((fp.size, fp.head_sha256), []).append(video)
    originals: dict[str, Video] = {}
    for group in candidates.values():
        if len(group) < 2:
            continue
        first_by_digest: dict[str, Video] = {}
        for video in group:
            try:
                digest = files_digest([video.path])
            except OSError:
                continue  # analysed on its own; the task reports what is wrong with it
            if digest in first_by_digest:
                originals[video.name] = first_by_digest[digest]
            else:
                first_by_digest[digest] = video
    return originals


def run_batch(videos: Sequence[Video], out_dir: Path, settings: Settings, dispatch: Dispatch,
              progress: bool = True) -> Outcome:
    """Analyse what ``plan_batch`` leaves to do; SIGINT or SIGTERM stops it, every finished video kept."""
    out_dir = Path(out_dir)
    with only_writer(out_dir):
        return _run_batch(videos, out_dir, settings, dispatch, progress)


def _run_batch(videos: Sequence[Video], out_dir: Path, settings: Settings, dispatch: Dispatch,
               progress: bool) -> Outcome:
    identity = settings.identity()
    index = BatchIndex.load(out_dir)
    plan = plan_batch(videos, index, identity)
    counts: Counter[str] = Counter(skipped=len(plan.skipped))
    say = _Reporter(progress)

    def record(video: Video, status: str, **fields: Any) -> None:
        index.entries[video.name] = _entry(video, plan.fingerprints.get(video.name), status, identity, **fields)

    for video, error in plan.unreadable:
        record(video, "failed", error=error)
        counts["failed"] += 1
        say.line(f"failed     {video.name}: {error}")
    if plan.skipped:
        say.line(f"skipping   {len(plan.skipped)} video(s) whose outputs are complete and inputs unchanged")
    for video in plan.todo:
        record(video, "pending")
    index.save()

    expected = [_frame_count(video.path) for video in plan.todo]
    reported = [0] * len(plan.todo)
    bar = tqdm(total=sum(n or 0 for n in expected), unit="frame", disable=not progress, dynamic_ncols=True,
               mininterval=0.5, file=sys.stderr, desc=f"{len(plan.todo)} video(s)")

    def frames_done(i: int, frames: int) -> None:
        reported[i] += frames
        if expected[i] is None or reported[i] > expected[i]:  # a count the container did not know, or got wrong
            expected[i] = reported[i]
            bar.total = sum(n or 0 for n in expected)
        bar.update(frames)

    def video_done(i: int, result: VideoResult) -> None:
        video = plan.todo[i]
        if result.status == "done":
            try:
                _write_outputs(out_dir, video.name, result)
            except OSError as e:
                result = VideoResult("failed", error=f"its outputs cannot be written under {out_dir}: {e}")
        summary = result.summary if result.status == "done" else None
        if result.status != "interrupted":  # the video now counts for the frames it had
            frames = summary["frames"] if summary else reported[i]
            bar.total = bar.total - (expected[i] or 0) + frames
            expected[i] = frames
            bar.update(frames - reported[i])
            reported[i] = frames
        record(video, result.status, summary=summary, error=result.error)
        index.save()
        counts[result.status] += 1
        say.line(_line(video, result))

    stop = threading.Event()
    with bar, _stop_on_signals(stop, say):
        if plan.todo:
            dispatch([str(v.path) for v in plan.todo], frames_done, video_done, stop)
    for video, original in plan.duplicates:
        entry = index.entries.get(original.name, {})
        record(video, "duplicate", duplicate_of=original.name,
               summary=_read_summary(out_dir, original.name) if entry.get("status") == "done" else None)
        counts["duplicate"] += 1
        say.line(f"duplicate  {video.name}: the same bytes as {original.name}, analysed once under that name")
    counts["pending"] = sum(1 for v in plan.todo if index.entries[v.name]["status"] == "pending")
    index.save()
    return Outcome(counts, stop.is_set(), index.path)


def _write_outputs(out_dir: Path, name: str, result: VideoResult) -> None:
    csv_path = out_dir / csv_name(name)
    csv_path.parent.mkdir(parents=True, exist_ok=True)
    with replace_atomically(csv_path) as tmp:
        tmp.write_bytes(result.csv_bytes or b"")
    write_json(out_dir / summary_name(name), result.summary or {})


def _read_summary(out_dir: Path, name: str) -> dict[str, Any] | None:
    try:
        return json.loads((out_dir / summary_name(name)).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _entry(video: Video, fp: Fingerprint | None, status: str, settings: dict[str, Any],
           summary: dict[str, Any] | None = None, error: str | None = None,
           duplicate_of: str | None = None) -> dict[str, Any]:
    """One line of the index. A duplicate points at its original's outputs."""
    outputs = duplicate_of or video.name
    has_outputs = status == "done" or (status == "duplicate" and summary is not None)
    return {
        "name": video.name, "status": status,
        "frames": summary["frames"] if summary else None,
        "frames_with_face": summary["frames_with_face"] if summary else None,
        "faces": summary["faces_classified"] if summary else None,
        "fps": round(summary["fps"], 2) if summary else None,
        "error": error,
        "csv": csv_name(outputs) if has_outputs else None,
        "summary": summary_name(outputs) if has_outputs else None,
        "duplicate_of": duplicate_of,
        "input": str(video.path),
        "input_fingerprint": fp.to_dict() if fp else None,
        "settings": settings,
        "analysed_at": datetime.now(timezone.utc).isoformat(timespec="seconds") if status == "done" else None,
    }


def _line(video: Video, result: VideoResult) -> str:
    if result.status == "done" and result.summary:
        s = result.summary
        return (f"done       {video.name}: {s['frames']} frames, {s['frames_with_face']} with a face, "
                f"{s['fps']:.1f} fps")
    if result.status == "failed":
        return f"failed     {video.name}: {result.error}"
    return f"{result.status:<10} {video.name}"


def _frame_count(path: Path) -> int | None:
    """What the container says, for the progress bar; None when it does not say."""
    with quiet_opencv():
        capture = cv2.VideoCapture(str(path))
        try:
            count = int(capture.get(cv2.CAP_PROP_FRAME_COUNT)) if capture.isOpened() else 0
        finally:
            capture.release()
    return count if count > 0 else None


class _Reporter:
    """Lines above the progress bar, on stderr."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled

    def line(self, text: str) -> None:
        if self.enabled:
            tqdm.write(text, file=sys.stderr)


@contextmanager
def _stop_on_signals(stop: threading.Event, say: _Reporter) -> Iterator[None]:
    """SIGINT and SIGTERM set ``stop`` (the running videos are interrupted, finished ones kept)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handle(signum: int, _frame: object) -> None:
        if not stop.is_set():
            say.line(f"stopping ({signal.Signals(signum).name}): finished videos are kept; "
                     "run the same command again to do the rest")
        stop.set()

    previous = {s: signal.signal(s, handle) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
