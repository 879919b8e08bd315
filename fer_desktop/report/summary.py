"""One pass over a recording's CSV, row by row, into per-face totals and a fixed-size timeline.

Memory does not grow with the recording's length: each face keeps counters and
at most ``TIMELINE_BINS`` time bins over the span it was seen, whose width
doubles (neighbours merged) whenever the face's rows outrun them.

Reads the columns the app writes (time_s, face_id, the seven probabilities,
label, confidence) and uses ``confident`` and the quality columns when present.
A copy saved again by a spreadsheet reads the same: columns moved or added,
values quoted, ';' or tabs between them, decimal commas, a byte-order mark.
Where rows name a neutral baseline (the ``baseline`` column), the baseline is
read from ``NAME.baselines.json`` beside the CSV and applied to those rows'
probabilities, as the window showed them: shares of time, the dominant emotion,
changes and the timeline are then relative to the face's rest, and each such
face also gets its shares without the baseline. Confidence and the uncertain
share stay the model's own.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from itertools import islice
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import numpy as np

from fer_desktop.emotions import EMOTIONS, NUM_CLASSES
from fer_desktop.export.baselines import BaselineFileError, baselines_path, read_baselines
from fer_desktop.faces.quality import hint_flags
from fer_desktop.pipeline.baseline import NeutralBaseline

REQUIRED = ("time_s", "face_id", *EMOTIONS, "confidence")
QUALITY = ("face_px", "brightness", "sharpness")
POSE = ("yaw_deg",)  # the pose measures with a hint; recordings made before them lack the column
TIMELINE_BINS = 512
FIRST_BIN_S = 0.25
CHUNK_ROWS = 8192  # rows parsed and summed at a time: bounded memory, NumPy speed
DELIMITERS = (",", ";", "\t")  # the app's first: it wins a tie
MAX_HEADER_CHARS = 65536  # read to find the delimiter: a file without line breaks is not read whole for it
MAX_GAP_S = 1.0  # a face unseen for longer was away: the gap does not count as time seen


class ReportError(ValueError):
    """The CSV cannot be summarised; the message names the file and, where it can, the line."""


class Timeline:
    """Mean probabilities in equal time bins on multiples of the width from 0 s; the width doubles when the rows
    span more than ``bins`` of them.

    Only the bins from the face's first row to its last are kept, made as rows reach them: a face seen for a
    second holds a few, not ``bins``, so a recording of many brief faces needs no more memory than its CSV.
    """

    def __init__(self, bins: int = TIMELINE_BINS, width_s: float = FIRST_BIN_S) -> None:
        self.max_bins = bins
        self.width_s = width_s
        self.first = 0  # the bin number (time // width) of sums[0]
        self.sums = np.zeros((0, NUM_CLASSES))
        self.counts = np.zeros(0)

    def add(self, times: np.ndarray, probs: np.ndarray) -> None:
        """Rows' times (s) and (n, 7) probabilities."""
        if not len(times):
            return
        times = np.maximum(times, 0.0)
        while True:
            index = (times // self.width_s).astype(np.int64)
            low, high = int(index.min()), int(index.max())
            if len(self.counts):
                low, high = min(low, self.first), max(high, self.first + len(self.counts) - 1)
            if high - low < self.max_bins:
                break
            self._coarsen()
        self._cover(low, high)
        np.add.at(self.sums, index - self.first, probs)
        self.counts += np.bincount(index - self.first, minlength=len(self.counts))

    def _cover(self, low: int, high: int) -> None:
        """Bins ``low`` to ``high`` (bin numbers), those held so far among them."""
        if not len(self.counts):
            self.first = low
        before, after = self.first - low, high - (self.first + len(self.counts) - 1)
        if before or after:
            self.sums, self.counts = _padded(self.sums, before, after), _padded(self.counts, before, after)
            self.first = low

    def _coarsen(self) -> None:
        """Twice the width: bins 2k and 2k + 1 become bin k."""
        before = self.first % 2
        after = (before + len(self.counts)) % 2
        self.sums = _padded(self.sums, before, after).reshape(-1, 2, NUM_CLASSES).sum(1)
        self.counts = _padded(self.counts, before, after).reshape(-1, 2).sum(1)
        self.first //= 2
        self.width_s *= 2

    def series(self) -> tuple[np.ndarray, np.ndarray]:
        """(bin centres in seconds, (n, 7) mean probabilities) of the bins that hold rows."""
        used = self.counts > 0
        centres = (self.first + np.flatnonzero(used) + 0.5) * self.width_s
        return centres, self.sums[used] / self.counts[used, None]


def _padded(a: np.ndarray, before: int, after: int) -> np.ndarray:
    """``a`` with ``before`` zero rows ahead and ``after`` behind (``np.pad``, without its overhead per call)."""
    out = np.zeros((before + len(a) + after, *a.shape[1:]))
    out[before:before + len(a)] = a
    return out


@dataclass
class FaceRows:
    """A run of one face's rows, in recording order, as arrays."""

    times: np.ndarray
    probs: np.ndarray  # (n, 7)
    confidence: np.ndarray
    confident: np.ndarray  # 1, 0, or -1 where the recording has no verdict
    quality: np.ndarray | None  # (n, 4) face_px, brightness, sharpness, yaw_deg; NaN where not measured
    model_probs: np.ndarray | None = None  # (n, 7) as recorded, where ``probs`` has baselines applied
    baseline: np.ndarray | None = None  # the baseline number applied to each row, 0 for none


@dataclass
class FaceTotals:
    """What one tracked face adds up to over the recording, fed a run of rows at a time."""

    face_id: str
    rows: int = 0
    first_s: float = 0.0
    last_s: float = 0.0
    seconds: float = 0.0
    label_seconds: np.ndarray = field(default_factory=lambda: np.zeros(NUM_CLASSES))
    changes: int = 0
    confidence_sum: float = 0.0
    judged: int = 0  # rows with a confident verdict
    uncertain: int = 0
    hints: dict[str, int] = field(default_factory=dict)
    measured: int = 0  # rows with quality measures
    timeline: Timeline = field(default_factory=Timeline)
    model_label_seconds: np.ndarray = field(default_factory=lambda: np.zeros(NUM_CLASSES))  # without baselines
    baseline_rows: int = 0
    baselines: set[int] = field(default_factory=set)
    _last_label: int | None = None
    _last_model_label: int | None = None
    _last_time: float | None = None
    _typical_dt: float = 0.0

    def add(self, rows: FaceRows) -> None:
        labels = rows.probs.argmax(1)
        model_labels = labels if rows.model_probs is None else rows.model_probs.argmax(1)
        if self.rows == 0:
            self.first_s = float(rows.times[0])
        previous_time = np.concatenate([[np.nan if self._last_time is None else self._last_time], rows.times[:-1]])
        previous_label = np.concatenate([[-1 if self._last_label is None else self._last_label], labels[:-1]])
        previous_model = np.concatenate([[-1 if self._last_model_label is None else self._last_model_label],
                                         model_labels[:-1]])
        dt = rows.times - previous_time
        counted = (dt > 0) & (dt <= MAX_GAP_S)  # NaN compares False: the face's first row
        self.seconds += float(dt[counted].sum())
        self.label_seconds += np.bincount(previous_label[counted], weights=dt[counted], minlength=NUM_CLASSES)
        self.model_label_seconds += np.bincount(previous_model[counted], weights=dt[counted], minlength=NUM_CLASSES)
        if counted.any():
            self._typical_dt = float(dt[counted][-1])
        self.changes += int(((previous_label >= 0) & (labels != previous_label)).sum())
        self.rows += len(labels)
        self.last_s = float(rows.times[-1])
        self._last_label, self._last_time = int(labels[-1]), self.last_s
        self._last_model_label = int(model_labels[-1])
        if rows.baseline is not None:
            self.baseline_rows += int((rows.baseline > 0).sum())
            self.baselines.update(int(b) for b in np.unique(rows.baseline) if b > 0)
        self.confidence_sum += float(rows.confidence.sum())
        judged = rows.confident >= 0
        self.judged += int(judged.sum())
        self.uncertain += int((rows.confident == 0).sum())
        if rows.quality is not None:
            measured = ~np.isnan(rows.quality[:, : len(QUALITY)]).any(1)  # a face without keypoints has no yaw
            self.measured += int(measured.sum())
            for hint, flags in hint_flags(*rows.quality[measured].T).items():
                if flags.any():
                    self.hints[hint] = self.hints.get(hint, 0) + int(flags.sum())
        self.timeline.add(rows.times, rows.probs)

    def finish(self) -> None:
        """The last row lasts as long as the one before it (a single row: nothing measurable)."""
        if self._last_label is not None and self._typical_dt:
            self.seconds += self._typical_dt
            self.label_seconds[self._last_label] += self._typical_dt
            self.model_label_seconds[self._last_model_label] += self._typical_dt
            self._typical_dt = 0.0

    def to_dict(self) -> dict[str, Any]:
        shares = self.label_seconds / self.seconds if self.seconds > 0 else np.zeros(NUM_CLASSES)
        return {
            "face_id": self.face_id,
            "rows": self.rows,
            "first_s": round(self.first_s, 3),
            "last_s": round(self.last_s, 3),
            "seconds_seen": round(self.seconds, 3),
            "share_of_time": {name: round(float(s), 4) for name, s in zip(EMOTIONS, shares)},
            "dominant": EMOTIONS[int(shares.argmax())] if self.seconds > 0 else None,
            "changes": self.changes,
            "mean_confidence": round(self.confidence_sum / self.rows, 4) if self.rows else None,
            "uncertain_share": round(self.uncertain / self.judged, 4) if self.judged else None,
            "quality_hint_share": {h: round(n / self.measured, 4) for h, n in sorted(self.hints.items())}
            if self.measured else None,
            "neutral_baseline": self._baseline_dict(),
        }

    def _baseline_dict(self) -> dict[str, Any] | None:
        """Where the face had a neutral baseline: which, on what share of its rows, and its shares without it."""
        if not self.baseline_rows:
            return None
        shares = self.model_label_seconds / self.seconds if self.seconds > 0 else np.zeros(NUM_CLASSES)
        return {
            "numbers": sorted(self.baselines),
            "rows_share": round(self.baseline_rows / self.rows, 4),
            "share_of_time_without_baseline": {name: round(float(s), 4) for name, s in zip(EMOTIONS, shares)},
            "dominant_without_baseline": EMOTIONS[int(shares.argmax())] if self.seconds > 0 else None,
        }


@dataclass
class SessionSummary:
    source: str
    faces: dict[str, FaceTotals]
    rows: int
    rows_without_model: int
    uncertain_from: str  # "confident column" or "confidence below P"
    models: list[str]
    baselines: str = "none recorded"  # whether and from where neutral baselines were applied
    rows_cut_short: int = 0  # a last row with fewer fields than the header (a copy or a kill mid-write), left out

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source, "rows": self.rows, "rows_without_model": self.rows_without_model,
            "rows_cut_short": self.rows_cut_short,
            "uncertain_from": self.uncertain_from, "models": self.models, "neutral_baselines": self.baselines,
            "faces": [f.to_dict() for f in self.faces.values()],
        }


def read_chunks(path: Path, size: int | None = None, cut_short: list[int] | None = None,
                ) -> Iterator[tuple[list[str], list[int], list[list[str]]]]:
    """(header, the rows' line numbers, up to ``size`` rows, by default ``CHUNK_ROWS``) of a CSV, a chunk at a time.

    Every row has the header's fields. A last row with fewer is dropped, as a recording copied or
    killed mid-write ends, and its line number goes into ``cut_short``; a row of the wrong length
    anywhere else is an error naming its line. Blank lines are passed over.
    """
    size = size or CHUNK_ROWS
    try:
        # utf-8-sig: a recording saved again by a spreadsheet ("CSV UTF-8") starts with a byte-order mark
        f = open(path, newline="", encoding="utf-8-sig")
    except FileNotFoundError:
        raise ReportError(f"{path}: file not found; give the CSV a recording wrote") from None
    except OSError as e:
        raise ReportError(f"{path}: cannot be read ({e.strerror or e})") from None
    with f:
        try:
            reader = csv.reader(f, delimiter=_delimiter(f), skipinitialspace=True)
            yield from _chunks(path, _numbered(reader), size, [] if cut_short is None else cut_short)
        except UnicodeDecodeError:
            raise ReportError(f"{path}: not a fer-desktop recording (not UTF-8 text); give the CSV the "
                              "window's Record or --headless --csv wrote") from None
        except csv.Error as e:
            raise ReportError(f"{path}: not a CSV file ({e})") from None


def _delimiter(f: TextIO) -> str:
    """What separates the header's columns: ',' as the app writes, or ';' or a tab as spreadsheets save in many
    languages; the one that yields the most of the app's columns. ``f`` is read from its start and put back."""
    first = f.readline(MAX_HEADER_CHARS)
    f.seek(0)
    return max(DELIMITERS, key=lambda d: len(set(REQUIRED).intersection(c.strip() for c in first.split(d))))


def _numbered(reader: Any) -> Iterator[tuple[int, list[str]]]:
    """(line number, row) of each row with a value: a spreadsheet may end or space out a table with empty lines
    (or rows of empty fields), which are no rows of the recording."""
    for row in reader:
        if any(row):
            yield reader.line_num, row


def _chunks(path: Path, rows: Iterator[tuple[int, list[str]]], size: int, cut_short: list[int],
            ) -> Iterator[tuple[list[str], list[int], list[list[str]]]]:
    header = next(rows, (0, None))[1]
    header = None if header is None else [name.strip() for name in header]  # "time_s, face_id", typed by hand
    missing = [c for c in REQUIRED if header is None or c not in header]
    if missing:
        raise ReportError(f"{path}: not a fer-desktop recording (no column {', '.join(missing)}); "
                          "give the CSV the window's Record or --headless --csv wrote")
    chunk = list(islice(rows, size))
    while chunk:
        following = list(islice(rows, size))
        short = [i for i, (_, row) in enumerate(chunk) if len(row) != len(header)]
        if short and (following or short != [len(chunk) - 1] or len(chunk[-1][1]) > len(header)):
            line, row = chunk[short[0]]
            raise ReportError(f"{path} line {line}: {len(row)} fields where the header has "
                              f"{len(header)}; the file was changed since it was recorded")
        if short:
            cut_short.append(chunk.pop()[0])
        if chunk:
            yield header, [line for line, _ in chunk], [row for _, row in chunk]
        chunk = following


def _column(rows: list[list[str]], lines: list[int], c: int, name: str, path: Path, blank_ok: bool = False) -> np.ndarray:
    """Column ``c`` of ``rows`` as floats; blanks are NaN where ``blank_ok``, else an error.

    A bad value (text, or a number that is not finite: "nan", "inf") raises ``ReportError`` naming its line and
    column: the app never writes one, and one would turn every total it reaches into NaN.
    """
    try:
        text = [row[c] for row in rows]
    except IndexError:
        short = next(i for i, row in enumerate(rows) if len(row) <= c)
        raise ReportError(f"{path} line {lines[short]}: {len(rows[short])} fields, no {name} column") from None
    convert = _blank_as_nan if blank_ok else float
    try:
        values = np.fromiter(map(convert, text), np.float64, len(text))
    except ValueError:
        # A spreadsheet where the decimal mark is a comma saves 0.5 as "0,5" (and fields apart with ';')
        points = [value.replace(",", ".") for value in text]
        for offset, value in enumerate(points):
            try:
                convert(value)
            except ValueError:
                raise ReportError(f"{path} line {lines[offset]}: {name} is {text[offset]!r}, not a number") from None
        values = np.fromiter(map(convert, points), np.float64, len(text))
    not_finite = ~np.isfinite(values)
    if not_finite.any():
        offset = next((i for i in np.flatnonzero(not_finite) if not (blank_ok and not text[i].strip())), None)
        if offset is not None:
            raise ReportError(f"{path} line {lines[offset]}: {name} is {text[offset]!r}, not a finite number; "
                              "the file was changed since it was recorded")
    return values


def _blank_as_nan(value: str) -> float:
    return float(value) if value.strip() else np.nan


def summarise(path: Path, uncertain_below: float, use_baselines: bool = True) -> SessionSummary:
    """Stream ``path`` into a summary. Rows without probabilities (no model loaded) are counted, not used.

    Uncertainty comes from the ``confident`` column where the recording has one, else from ``confidence``
    below ``uncertain_below``. Neutral baselines are applied where rows name one, unless not ``use_baselines``.
    """
    path = Path(path)
    try:
        known = read_baselines(path) if use_baselines else {}
    except BaselineFileError as e:
        raise ReportError(str(e)) from None
    applied = False
    faces: dict[str, FaceTotals] = {}
    models: list[str] = []
    total = without_model = 0
    has_verdict = has_quality = False
    cut_short: list[int] = []
    for header, numbers, chunk in read_chunks(path, cut_short=cut_short):
        at = {name: i for i, name in enumerate(header)}
        has_verdict, has_quality = "confident" in at, all(c in at for c in QUALITY)
        total += len(chunk)
        first_prob = at[EMOTIONS[0]]
        kept = [i for i, row in enumerate(chunk) if len(row) > first_prob and row[first_prob] != ""]
        lines, rows = [numbers[i] for i in kept], [chunk[i] for i in kept]
        without_model += len(chunk) - len(rows)
        if not rows:
            continue

        def column(name: str, blank_ok: bool = False) -> np.ndarray:
            return _column(rows, lines, at[name], name, path, blank_ok)

        times, confidence = column("time_s"), column("confidence")
        probs = np.stack([column(name) for name in EMOTIONS], axis=1)
        if has_verdict:
            verdict = {"1": 1, "0": 0}
            confident = np.array([verdict.get(row[at["confident"]], -1) for row in rows])
        else:
            confident = (confidence >= uncertain_below).astype(np.int64)
        quality = None
        if has_quality:
            pose = [column(name, blank_ok=True) if name in at else np.full(len(rows), np.nan) for name in POSE]
            quality = np.stack([*(column(name, blank_ok=True) for name in QUALITY), *pose], axis=1)
        if "model" in at:
            for model in {row[at["model"]] for row in rows} - {"", *models}:
                models.append(model)
        numbers = model_probs = None
        if use_baselines and "baseline" in at:
            numbers = np.nan_to_num(column("baseline", blank_ok=True)).astype(np.int64)
            if numbers.any():
                model_probs, probs = probs, _apply_baselines(probs, numbers, known, lines, path)
                applied = True
        ids = np.array([row[at["face_id"]] for row in rows])
        for face_id in dict.fromkeys(ids.tolist()):
            mine = ids == face_id
            totals = faces.get(face_id)
            if totals is None:
                totals = faces[face_id] = FaceTotals(face_id)
            totals.add(FaceRows(times[mine], probs[mine], confidence[mine], confident[mine],
                                None if quality is None else quality[mine],
                                None if model_probs is None else model_probs[mine],
                                None if numbers is None else numbers[mine]))
    for totals in faces.values():
        totals.finish()
    source = "confident column" if has_verdict else f"confidence below {uncertain_below}"
    if not use_baselines:
        baselines = "ignored (--ignore-baselines)"
    else:
        baselines = f"applied from {baselines_path(path).name}" if applied else "none recorded"
    return SessionSummary(path.name, faces, total, without_model, source, sorted(models), baselines, len(cut_short))


def _apply_baselines(probs: np.ndarray, numbers: np.ndarray, known: dict[int, NeutralBaseline], lines: list[int],
                     path: Path) -> np.ndarray:
    """``probs`` with each row's neutral baseline applied (number 0: none), as the window showed them."""
    out = probs.copy()
    for number in np.unique(numbers[numbers > 0]):
        baseline = known.get(int(number))
        if baseline is None:
            line = lines[int(np.flatnonzero(numbers == number)[0])]
            raise ReportError(f"{path} line {line}: neutral baseline {number} is not in {baselines_path(path).name}; "
                              "put the file recorded with the CSV beside it or pass --ignore-baselines")
        mine = numbers == number
        out[mine] = baseline.apply(probs[mine])
    return out
