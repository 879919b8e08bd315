"""Bad input and faults: inputs never written, outputs never clobbered or half-written, one sentence per mistake.

Every command-line test runs ``fer-desktop`` and asserts that its stderr holds
no Python traceback; the signal tests run it as a process, as a terminal or a
job scheduler would.
"""

from __future__ import annotations

import csv
import io
import json
import os
import random
import signal
import subprocess
import sys
import time
import traceback
from pathlib import Path

import cv2
import pytest
from fault_files import FullDisk

from fer_desktop.app import main
from fer_desktop.export import CSV_COLUMNS, replace_atomically, write_json
from fer_desktop.headless import run_headless
from fer_desktop.inference import load_classifier
from fer_desktop.pipeline.demo import astronaut_photo, backdrop, demo_frame

CLIP_SIZE = (320, 240)
REPO = Path(__file__).resolve().parents[1]
FRAMES = 40  # of the clip the loop test stops at random


def make_clip(path: Path, frames: int, fps: float = 10.0) -> Path:
    """An MJPG clip of the astronaut, ``frames`` long; its header says how many frames it holds."""
    photo, background = astronaut_photo(), backdrop(CLIP_SIZE)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, CLIP_SIZE)
    for i in range(frames):
        writer.write(demo_frame(i / fps, photo, background))
    writer.release()
    return path


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_clip(tmp_path_factory.mktemp("clip") / "clip.avi", 12)


def run_cli(argv: list[str], capsys: pytest.CaptureFixture) -> tuple[int, str]:
    """``fer-desktop argv`` in this process: its exit code and stderr, which must hold no traceback."""
    try:
        code = main(argv)
    except SystemExit as e:
        code = e.code
    except BaseException:  # what the interpreter would print on its way out
        traceback.print_exc()
        code = 1
    err = capsys.readouterr().err
    assert "Traceback" not in err, err
    return code, err


def headless(source: Path | str, weights_dir: Path, *extra: str) -> list[str]:
    return ["--headless", "--source", str(source), "--weights", str(weights_dir), "--model", "squeezenet",
            "--device", "cpu", *extra]


def rows(path: Path) -> list[dict[str, str]]:
    """The CSV's rows; fails on a half-written one."""
    text = path.read_text(encoding="utf-8")
    assert text.endswith("\n"), "the last row is not whole"
    table = list(csv.reader(io.StringIO(text)))
    assert tuple(table[0]) == CSV_COLUMNS
    assert all(len(row) == len(CSV_COLUMNS) for row in table[1:])
    return [dict(zip(CSV_COLUMNS, row)) for row in table[1:]]


# -- 1-4: outputs are checked before anything is opened ----------------------------------------------------------


@pytest.mark.parametrize("flag", ["--csv", "--summary"])
@pytest.mark.parametrize("spelling", ["same", "dotted", "hard link", "symlink"])
def test_an_output_that_is_the_source_is_refused(flag: str, spelling: str, clip: Path, weights_dir: Path,
                                                 tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    source = tmp_path / "video.avi"
    source.write_bytes(clip.read_bytes())
    before = source.read_bytes()
    output = {"same": source, "dotted": tmp_path / "." / ".." / tmp_path.name / "video.avi",
              "hard link": tmp_path / "link.avi", "symlink": tmp_path / "sym.avi"}[spelling]
    if spelling == "hard link":
        os.link(source, output)
    elif spelling == "symlink":
        output.symlink_to(source)
    code, err = run_cli(headless(source, weights_dir, flag, str(output), "--overwrite"), capsys)
    assert code == 2
    assert f"{flag} {output} is the --source file itself" in err
    assert source.read_bytes() == before


def test_a_mistyped_source_leaves_an_earlier_csv_untouched(weights_dir: Path, tmp_path: Path,
                                                           capsys: pytest.CaptureFixture) -> None:
    earlier = tmp_path / "session.csv"
    earlier.write_text("time_s,frame\n0.0,0\n")
    for extra in ([], ["--overwrite"]):
        code, err = run_cli(headless(tmp_path / "typo.avi", weights_dir, "--csv", str(earlier), *extra), capsys)
        assert code == 2 and "--source" in err and "typo.avi: no such video file" in err
        assert earlier.read_text() == "time_s,frame\n0.0,0\n"


def test_an_existing_output_is_kept_unless_overwrite_is_given(clip: Path, weights_dir: Path, tmp_path: Path,
                                                              capsys: pytest.CaptureFixture) -> None:
    earlier, summary = tmp_path / "session.csv", tmp_path / "summary.json"
    earlier.write_text("earlier recording\n")
    code, err = run_cli(headless(clip, weights_dir, "--csv", str(earlier), "--summary", str(summary)), capsys)
    assert code == 2
    assert f"--csv {earlier} already exists and is never overwritten without --overwrite" in err
    assert earlier.read_text() == "earlier recording\n" and not summary.exists()

    code, err = run_cli(headless(clip, weights_dir, "--csv", str(earlier), "--summary", str(summary),
                                 "--overwrite"), capsys)
    assert code == 0 and len(rows(earlier)) == 12 and json.loads(summary.read_text())["complete"] is True


def test_outputs_are_created_only_once_the_source_gives_a_frame(weights_dir: Path, tmp_path: Path,
                                                                capsys: pytest.CaptureFixture) -> None:
    broken = tmp_path / "broken.avi"
    broken.write_bytes(b"\x00not a video" * 100)
    out, summary = tmp_path / "out.csv", tmp_path / "summary.json"
    code, err = run_cli(headless(broken, weights_dir, "--csv", str(out), "--summary", str(summary)), capsys)
    assert code == 2 and "broken.avi: not a video" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["broken.avi"]


@pytest.mark.parametrize("spelling", ["same", "dotted"])
def test_the_same_file_for_two_outputs_is_refused(spelling: str, clip: Path, weights_dir: Path, tmp_path: Path,
                                                  capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "out.x"
    other = out if spelling == "same" else tmp_path / "." / "out.x"
    code, err = run_cli(headless(clip, weights_dir, "--csv", str(out), "--summary", str(other)), capsys)
    assert code == 2 and "--csv and --summary are the same file" in err
    assert not out.exists()


@pytest.mark.parametrize("where", ["missing folder", "parent is a file"])
def test_an_unwritable_summary_folder_is_found_before_the_run(where: str, clip: Path, weights_dir: Path,
                                                              tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    (tmp_path / "file").write_text("x")
    summary = tmp_path / ("missing" if where == "missing folder" else "file") / "summary.json"
    out = tmp_path / "out.csv"
    started = time.perf_counter()
    code, err = run_cli(headless(clip, weights_dir, "--csv", str(out), "--summary", str(summary)), capsys)
    assert code == 2 and f"--summary {summary}: the folder {summary.parent}" in err
    assert "does not exist" in err if where == "missing folder" else "is not a folder" in err
    assert not out.exists()  # nothing was run
    assert time.perf_counter() - started < 5


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write into a read-only folder")
def test_a_read_only_output_folder_is_found_before_the_run(clip: Path, weights_dir: Path, tmp_path: Path,
                                                           capsys: pytest.CaptureFixture) -> None:
    folder = tmp_path / "read-only"
    folder.mkdir(mode=0o500)
    code, err = run_cli(headless(clip, weights_dir, "--csv", str(folder / "out.csv")), capsys)
    assert code == 2 and "cannot be written" in err



@pytest.mark.parametrize("flag", ["--csv", "--summary"])
def test_a_named_pipe_as_an_output_is_refused_and_kept(flag: str, clip: Path, weights_dir: Path, tmp_path: Path,
                                                       capsys: pytest.CaptureFixture) -> None:
    pipe = tmp_path / "pipe"
    os.mkfifo(pipe)  # replaced by a file when written atomically; waited on for ever when opened
    code, err = run_cli(headless(clip, weights_dir, flag, str(pipe), "--overwrite"), capsys)
    assert code == 2 and f"{flag} {pipe} is a named pipe, not a file" in err.strip().splitlines()[-1]
    assert pipe.is_fifo()


def test_an_atomic_write_to_a_device_writes_into_it_and_never_replaces_it(monkeypatch: pytest.MonkeyPatch) -> None:
    def replace(*paths: object) -> None:
        raise AssertionError(f"os.replace{paths}: a device was about to be replaced by a file")

    monkeypatch.setattr(os, "replace", replace)
    write_json(Path(os.devnull), {"a": 1})  # --summary /dev/null --overwrite
    assert Path(os.devnull).is_char_device()

# -- 5: SIGTERM and SIGHUP are Ctrl-C --------------------------------------------------------------------------


def _catches(pid: int, signum: int) -> bool:
    """Whether the process has a handler for ``signum`` (Linux's /proc)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    mask = next(line.split()[1] for line in status.splitlines() if line.startswith("SigCgt:"))
    return bool(int(mask, 16) >> (signum - 1) & 1)


def _spawn(args: list[str]) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(REPO), "QT_QPA_PLATFORM": "offscreen"}
    return subprocess.Popen([sys.executable, "-m", "fer_desktop.app", *args], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def _wait_for_handler(process: subprocess.Popen, signum: int = signal.SIGTERM, timeout: float = 60.0) -> float:
    deadline = time.perf_counter() + timeout
    while not _catches(process.pid, signum):
        assert process.poll() is None and time.perf_counter() < deadline, "the handler was never installed"
        time.sleep(0.005)
    return time.perf_counter()


needs_proc = pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs Linux's /proc")


@needs_proc
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP])
def test_a_stop_signal_mid_run_flushes_the_csv_and_writes_an_incomplete_summary(
        signum: int, weights_dir: Path, tmp_path: Path) -> None:
    out, summary = tmp_path / "out.csv", tmp_path / "summary.json"
    process = _spawn(headless("demo", weights_dir, "--csv", str(out), "--summary", str(summary)))
    _wait_for_handler(process)
    deadline = time.perf_counter() + 120
    while not (out.exists() and out.stat().st_size > 2000):  # a few frames recorded
        assert process.poll() is None and time.perf_counter() < deadline
        time.sleep(0.05)
    process.send_signal(signum)
    _, err = process.communicate(timeout=30)
    assert process.returncode == 128 + signum
    assert "Traceback" not in err
    name = signal.Signals(signum).name
    assert f"stopped by {name}" in err
    written = rows(out)
    report = json.loads(summary.read_text())
    assert report["complete"] is False and report["interrupted_by"] == name
    assert report["faces_classified"] == report["csv_rows"] == len(written) > 0


@needs_proc
@pytest.mark.timeout(900)
def test_sigterm_at_a_random_moment_always_leaves_a_valid_csv_and_an_incomplete_summary(
        weights_dir: Path, tmp_path: Path) -> None:
    video = make_clip(tmp_path / "clip.avi", FRAMES)
    args = headless(video, weights_dir, "--csv", str(tmp_path / "out.csv"), "--summary", str(tmp_path / "s.json"),
                    "--overwrite")
    run_s = []
    for _ in range(2):  # the first one also exports the model to ONNX, once for all
        baseline = _spawn(args)
        t_handler = _wait_for_handler(baseline)
        baseline.communicate(timeout=120)
        assert baseline.returncode == 0
        run_s.append(time.perf_counter() - t_handler)  # from the handler's installation to the end of a whole run
    interrupted, rng = 0, random.Random(25)
    print(f"a whole run lasts {run_s[-1]:.1f} s from its handler's installation")
    for attempt in range(10):
        out, summary = tmp_path / f"out{attempt}.csv", tmp_path / f"summary{attempt}.json"
        process = _spawn(headless(video, weights_dir, "--csv", str(out), "--summary", str(summary)))
        _wait_for_handler(process)
        time.sleep(rng.uniform(0.0, 0.9 * run_s[-1]))
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=60)
        assert "Traceback" not in err, err
        report = json.loads(summary.read_text())
        written = rows(out)
        assert report["csv_rows"] == len(written) == report["faces_classified"]
        if process.returncode in (0, -signal.SIGTERM):  # it came after the last frame: a whole run, then an exit
            assert report["complete"] is True and report["frames"] == FRAMES
        else:
            assert process.returncode == 128 + signal.SIGTERM, err
            assert report["complete"] is False and report["interrupted_by"] == "SIGTERM"
            interrupted += 1
    assert interrupted >= 5, f"{interrupted} of 10 runs were interrupted"


@needs_proc
def test_ctrl_c_during_start_up_is_one_sentence(weights_dir: Path, tmp_path: Path) -> None:
    # Importing the pipeline usually takes longer than the second waited here; on a fast start the signal
    # lands in the run instead, which the run's frames (minutes of them) make sure of: one sentence either way.
    process = _spawn(headless("demo", weights_dir, "--max-frames", "100000"))
    time.sleep(1.0)
    assert process.poll() is None
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=60)
    assert "Traceback" not in err, err
    assert process.returncode == 130 and "stopped by SIGINT" in err


# -- 6: a full disk ----------------------------------------------------------------------------------------------


def test_a_full_disk_keeps_every_row_whole_and_the_run_going(face_video: Path, weights_dir: Path) -> None:
    from fer_desktop.export import Recorder

    disk, messages = FullDisk(room=700), []
    recorder = Recorder(Path("full.csv"), on_failure=messages.append, open_file=lambda path, overwrite: disk)
    summary = run_headless(str(face_video), load_classifier("squeezenet", "cpu", weights_dir), recorder=recorder)

    text = disk.kept.decode("utf-8")
    table = list(csv.reader(io.StringIO(text)))
    assert text.endswith("\n") and tuple(table[0]) == CSV_COLUMNS
    assert all(len(row) == len(CSV_COLUMNS) for row in table[1:]) and 0 < len(table) - 1 < 17
    assert summary.csv_rows == len(table) - 1
    assert summary.frames == 17  # the analysis went on after the recording stopped
    assert len(messages) == 1 and messages[0].startswith("Recording to full.csv stopped after")
    assert "No space left on device" in messages[0] and summary.recording_error == messages[0]
    assert summary.complete is False


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs Linux's /dev/full")
def test_a_full_disk_on_the_command_line_is_one_sentence(clip: Path, weights_dir: Path, tmp_path: Path,
                                                         capsys: pytest.CaptureFixture) -> None:
    summary = tmp_path / "summary.json"
    code, err = run_cli(headless(clip, weights_dir, "--csv", "/dev/full", "--overwrite", "--summary", str(summary)),
                        capsys)
    assert code == 1 and "Recording to /dev/full stopped after 0 rows: No space left on device" in err
    report = json.loads(summary.read_text())
    assert report["frames"] == 12 and report["complete"] is False and "No space left" in report["recording_error"]


# -- 7: a truncated video ---------------------------------------------------------------------------------------


def test_a_truncated_video_says_it_ended_early(weights_dir: Path, tmp_path: Path,
                                               capsys: pytest.CaptureFixture) -> None:
    whole = make_clip(tmp_path / "whole.avi", 30)
    cut = tmp_path / "cut.avi"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size * 6 // 10])
    summary = tmp_path / "cut.json"
    code, err = run_cli(headless(cut, weights_dir, "--summary", str(summary)), capsys)
    report = json.loads(summary.read_text())
    assert code == 1 and report["complete"] is False and report["ended_early"] is True
    assert report["frames_expected"] == 30 and 10 < report["frames"] < 25
    assert f"the file ended early: {report['frames']} frames decoded of the 30 its container claims" in err

    code, err = run_cli(headless(whole, weights_dir, "--summary", str(summary), "--overwrite"), capsys)
    report = json.loads(summary.read_text())
    assert code == 0 and report["complete"] is True and report["ended_early"] is False
    assert report["frames"] == report["frames_expected"] == 30 and "ended early" not in err


def test_frames_that_do_not_decode_are_skipped_and_the_rest_of_the_video_read(weights_dir: Path, tmp_path: Path,
                                                                               capsys: pytest.CaptureFixture) -> None:
    data = bytearray(make_clip(tmp_path / "whole.avi", 12).read_bytes())
    starts = [i for i in range(len(data) - 2) if data[i:i + 3] == b"\xff\xd8\xff"]  # each frame's JPEG
    assert len(starts) == 12
    for frame in (0, 5):  # the first frame, and one in the middle: its JPEG blanked, the file's layout kept
        data[starts[frame]:starts[frame + 1] - 16] = bytes(starts[frame + 1] - 16 - starts[frame])
    damaged = tmp_path / "damaged.avi"
    damaged.write_bytes(bytes(data))
    out, summary = tmp_path / "out.csv", tmp_path / "out.json"
    code, err = run_cli(headless(damaged, weights_dir, "--csv", str(out), "--summary", str(summary)), capsys)
    report = json.loads(summary.read_text())
    assert report["frames"] == 10 and report["frames_skipped"] == 2 and report["ended_early"] is False
    assert report["complete"] is False and code == 1
    assert "2 damaged frame(s) could not be decoded and were skipped" in err
    frames = [int(row["frame"]) for row in rows(out)]
    assert frames == [1, 2, 3, 4, 6, 7, 8, 9, 10, 11]  # each frame keeps its place, and its time_s


# -- 8: every bad flag is one sentence --------------------------------------------------------------------------


@pytest.mark.parametrize("argv, names", [
    (["--headless", "--source", "demo", "--max-frames", "0"], "--max-frames"),
    (["--headless", "--source", "demo"], "--max-frames"),
    (["--headless", "--source", "demo", "--max-frames", "-1"], "--max-frames"),
    (["--headless", "--source", "demo", "--max-frames", "ten"], "--max-frames"),
    (["--headless", "--source", "demo", "--smoothing", "nan"], "--smoothing"),
    (["--headless", "--source", "demo", "--smoothing", "1.5"], "--smoothing"),
    (["--headless", "--source", "demo", "--smoothing", "x"], "--smoothing"),
    (["--headless"], "--source"),
    (["--headless", "--source", " "], "--source"),
    (["--headless", "--source", "{tmp}"], "--source"),
    (["--headless", "--source", os.devnull], "is a pipe or a device, not a video file"),
    (["--headless", "--source", "demo", "--csv", "{tmp}"], "--csv"),
    (["--headless", "--source", "demo", "--weights", "{file}"], "--weights"),
    (["--headless", "--source", "demo", "--model", "vgg16"], "--model"),
    (["--headless", "--source", "demo", "--device", "tpu"], "--device"),
    (["--headless", "--source", "demo", "--backend", "tensorrt"], "--backend"),
    (["--csv", "out.csv"], "--csv"),
    (["--overwrite"], "--overwrite"),
    (["--max-frames", "5"], "--max-frames"),
    (["--frobnicate"], "--frobnicate"),
])
def test_every_bad_flag_is_one_sentence_and_exit_code_2(argv: list[str], names: str, tmp_path: Path,
                                                        capsys: pytest.CaptureFixture) -> None:
    (tmp_path / "file").write_text("x")
    argv = [a.format(tmp=tmp_path, file=tmp_path / "file") for a in argv]
    code, err = run_cli(argv, capsys)
    *usage, sentence = err.strip().splitlines()
    assert code == 2 and names in sentence and sentence.startswith("fer-desktop: ")
    assert all(line.startswith(("usage: ", " ")) for line in usage)  # the usage, then one sentence
    assert not list(tmp_path.glob("*.csv"))


@pytest.mark.parametrize("device", ["cuda", "mps"])
def test_a_gpu_that_is_not_there_is_one_sentence(device: str, capsys: pytest.CaptureFixture) -> None:
    import torch

    if (torch.cuda.is_available() if device == "cuda" else torch.backends.mps.is_available()):
        pytest.skip(f"this machine has {device}")
    code, err = run_cli(["--headless", "--source", "demo", "--max-frames", "1", "--device", device], capsys)
    assert code == 2 and f"--device {device} was asked for" in err.strip().splitlines()[-1]


def test_int8_without_an_int8_file_is_one_sentence(clip: Path, weights_dir: Path, tmp_path: Path,
                                                   capsys: pytest.CaptureFixture) -> None:
    code, err = run_cli(headless(clip, weights_dir, "--backend", "int8", "--csv", str(tmp_path / "a.csv")), capsys)
    assert code == 2 and "no int8 model made from these weights" in err and "--backend onnx" in err
    assert len(err.strip().splitlines()) == 1 and not (tmp_path / "a.csv").exists()


# -- the one helper that writes files ------------------------------------------------------------------------------


def test_an_atomic_write_keeps_the_old_file_on_failure_and_the_users_umask(tmp_path: Path) -> None:
    path = tmp_path / "summary.json"
    write_json(path, {"a": 1})
    old_umask = os.umask(0o022)
    try:
        write_json(path, {"a": 2})
    finally:
        os.umask(old_umask)
    assert json.loads(path.read_text()) == {"a": 2}
    assert path.stat().st_mode & 0o777 == 0o644  # not mkstemp's 0600
    with pytest.raises(RuntimeError), replace_atomically(path) as tmp:
        tmp.write_text("half")
        raise RuntimeError("crash while writing")
    assert json.loads(path.read_text()) == {"a": 2}
    with replace_atomically(path) as one, replace_atomically(path) as two:
        assert one != two  # two writers of one file never share a temporary file
        one.write_text("1")
        two.write_text("2")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["summary.json"]
