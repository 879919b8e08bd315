"""Headless runs on a synthetic video: every frame processed, the CSV and summary right, faults explained."""

from __future__ import annotations

import csv
import json
import os
import signal
from pathlib import Path

import pytest
from conftest import VIDEO_LAYOUT

from fer_desktop.app import main
from fer_desktop.emotions import EMOTIONS
from fer_desktop.export import CSV_COLUMNS
from fer_desktop.headless import run_headless
from fer_desktop.inference import load_classifier
from fer_desktop.pipeline import SourceError
from fer_desktop.stop_signals import handling_stop_signals

FACE_FRAMES = [i for i, with_face in enumerate(VIDEO_LAYOUT) if with_face]
EMPTY_FRAMES = [i for i, with_face in enumerate(VIDEO_LAYOUT) if not with_face]


def _rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def test_headless_writes_one_row_per_face_of_every_frame(face_video: Path, weights_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.csv"
    seen = []
    summary = run_headless(str(face_video), load_classifier("squeezenet", "cpu", weights_dir), out,
                           on_result=seen.append)

    assert [r.frame.index for r in seen] == list(range(len(VIDEO_LAYOUT)))  # every frame, in order
    assert summary.frames == len(VIDEO_LAYOUT)
    assert summary.frames_with_face == len(FACE_FRAMES)
    assert summary.faces_classified == len(FACE_FRAMES)
    assert summary.model == "squeezenet" and summary.complete and summary.fps > 0
    assert set(summary.latency_ms) >= {"capture_to_detect_ms", "detect_ms", "classify_ms"}
    assert summary.latency_ms["detect_ms"]["n"] == len(VIDEO_LAYOUT)

    with open(out, newline="", encoding="utf-8") as f:
        assert tuple(next(csv.reader(f))) == CSV_COLUMNS
    rows = _rows(out)
    assert [int(r["frame"]) for r in rows] == FACE_FRAMES  # one face each; no-face frames have no row
    assert not set(EMPTY_FRAMES) & {int(r["frame"]) for r in rows}
    for row in rows:
        probs = [float(row[e]) for e in EMOTIONS]
        assert sum(probs) == pytest.approx(1.0, abs=1e-3)
        assert row["label"] == EMOTIONS[max(range(7), key=lambda k: probs[k])]
        assert row["model"] == "squeezenet" and int(row["w"]) > 40
    first_stretch = [r["face_id"] for r in rows if int(r["frame"]) < EMPTY_FRAMES[0]]
    assert len(set(first_stretch)) == 1  # tracked across frames, one id
    assert float(rows[1]["time_s"]) == pytest.approx(0.1, abs=1e-3)


def test_headless_command_writes_csv_and_summary(face_video: Path, weights_dir: Path, tmp_path: Path,
                                                 capsys: pytest.CaptureFixture) -> None:
    out, summary_path = tmp_path / "out.csv", tmp_path / "summary.json"
    code = main(["--headless", "--source", str(face_video), "--csv", str(out), "--summary", str(summary_path),
                 "--weights", str(weights_dir), "--model", "squeezenet", "--device", "cpu", "--smoothing", "0"])
    assert code == 0
    summary = json.loads(summary_path.read_text())
    assert summary["frames"] == len(VIDEO_LAYOUT) and summary["frames_with_face"] == len(FACE_FRAMES)
    assert summary["fps"] > 0 and summary["device"] == "cpu" and summary["backend"] == "onnxruntime"
    assert {"p50", "p90", "p99"} <= set(summary["latency_ms"]["classify_ms"])
    assert len(_rows(out)) == len(FACE_FRAMES)
    assert f"{len(VIDEO_LAYOUT)} frames, {len(FACE_FRAMES)} with a face" in capsys.readouterr().err


def test_backend_is_chosen_on_the_command_line(weights_dir: Path, tmp_path: Path) -> None:
    summary_path = tmp_path / "summary.json"
    assert main(["--headless", "--source", "demo", "--max-frames", "3", "--summary", str(summary_path),
                 "--weights", str(weights_dir), "--model", "squeezenet", "--device", "cpu", "--backend", "torch"]) == 0
    assert json.loads(summary_path.read_text())["backend"] == "torch"


def test_missing_weights_name_the_file_and_how_to_retrain(face_video: Path, tmp_path: Path,
                                                          capsys: pytest.CaptureFixture) -> None:
    code = main(["--headless", "--source", str(face_video), "--weights", str(tmp_path), "--model", "vgg19",
                 "--device", "cpu", "--csv", str(tmp_path / "out.csv")])
    err = capsys.readouterr().err
    assert code == 2
    assert str(tmp_path / "vgg19.safetensors") in err and "fer-desktop-train --model vgg19" in err
    assert not (tmp_path / "out.csv").exists()


def test_corrupt_weights_are_reported_as_such(face_video: Path, weights_dir: Path, tmp_path: Path,
                                              capsys: pytest.CaptureFixture) -> None:
    corrupt = tmp_path / "squeezenet.safetensors"
    corrupt.write_bytes((weights_dir / "squeezenet.safetensors").read_bytes()[:5000])
    code = main(["--headless", "--source", str(face_video), "--weights", str(tmp_path), "--model", "squeezenet",
                 "--device", "cpu"])
    err = capsys.readouterr().err
    assert code == 2 and str(corrupt) in err and "corrupt" in err and "fer-desktop-train" in err


def test_an_unreadable_video_is_one_clear_error(weights_dir: Path, tmp_path: Path) -> None:
    bogus = tmp_path / "clip.mp4"
    bogus.write_bytes(b"\x00not a video" * 100)
    with pytest.raises(SourceError, match="clip.mp4: not a video"):
        run_headless(str(bogus), load_classifier("squeezenet", "cpu", weights_dir), tmp_path / "out.csv")



def test_a_url_that_never_answers_is_one_sentence_within_the_timeout(capfd: pytest.CaptureFixture) -> None:
    import socket
    import time

    from fer_desktop.pipeline.sources import STREAM_TIMEOUT_MS, open_source

    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()  # connections are taken by the kernel and never answered
        url = f"http://127.0.0.1:{server.getsockname()[1]}/live.mjpg"
        started = time.monotonic()
        with pytest.raises(SourceError, match="the stream could not be opened"):
            open_source(url)
        assert time.monotonic() - started < 3 * STREAM_TIMEOUT_MS / 1000
    assert "WARN" not in capfd.readouterr().err  # OpenCV's own lines about the timeout, around our sentence

def test_a_refused_stream_is_our_sentence_without_ffmpegs_log_lines() -> None:
    import socket
    import subprocess
    import sys

    with socket.socket() as probe:  # a port that was free a moment ago: a connection to it is refused
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    code = ("from fer_desktop.pipeline.sources import SourceError, open_source\n"
            f"try:\n    open_source('http://127.0.0.1:{port}/live.mjpg')\n"
            "except SourceError as e:\n    print(e)\n")
    env = {k: v for k, v in os.environ.items() if k != "OPENCV_FFMPEG_LOGLEVEL"}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, env=env)
    assert "the stream could not be opened" in done.stdout
    assert "tcp @" not in done.stderr and "Connection" not in done.stderr, done.stderr


def test_headless_demo_needs_no_file(weights_dir: Path) -> None:
    summary = run_headless("demo", load_classifier("squeezenet", "cpu", weights_dir), max_frames=12)
    assert summary.frames == 12 and summary.frames_with_face == 12 and summary.source == "Demo (astronaut)"


def test_a_stop_signal_the_command_noted_before_the_run_ends_the_run_at_once(weights_dir: Path) -> None:
    # Between the model loading and the run's first frame the command's own handler holds the signal;
    # the run must see it there, not install a second handler that never hears of it.
    classifier = load_classifier("squeezenet", "cpu", weights_dir)
    with handling_stop_signals("flag") as signals:
        signals.received = signal.SIGINT
        summary = run_headless("demo", classifier, max_frames=100_000, signals=signals)
    assert summary.interrupted_by == "SIGINT" and not summary.complete and summary.frames < 100


class BrokenClassifier:
    name = "broken"

    def predict(self, faces):
        raise RuntimeError("CUDA error: device-side assert triggered")


def test_a_failing_model_stops_a_headless_run_with_its_message(face_video: Path, tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="frame 0 could not be processed: RuntimeError: CUDA error"):
        run_headless(str(face_video), BrokenClassifier(), tmp_path / "out.csv")
