"""fer-desktop-batch on small generated clips: inputs found, duplicates and bad videos handled, stopped and resumed."""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import cv2
import pytest

from fer_desktop.batch import task
from fer_desktop.batch.cli import main
from fer_desktop.batch.index import BatchIndex, only_writer
from fer_desktop.batch.inputs import InputError, find_videos
from fer_desktop.batch.runner import plan_batch
from fer_desktop.batch.task import TIMING_FIELDS, Settings
from fer_desktop.headless import run_headless
from fer_desktop.inference import load_classifier
from fer_desktop.pipeline.demo import DEMO_FPS, DEMO_SIZE, astronaut_photo, backdrop, demo_frame

ROOT = Path(__file__).resolve().parent.parent
CLIP_FRAMES = 24
GOOD = ("a.avi", "b.avi", "c.avi", "d.avi", "sub/e.avi", "sub/f.avi")


def write_clip(path: Path, first_frame: int, frames: int = CLIP_FRAMES) -> Path:
    """The demo astronaut from ``first_frame`` on, as MJPG: each start gives a different clip."""
    path.parent.mkdir(parents=True, exist_ok=True)
    photo, background = astronaut_photo(), backdrop()
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), DEMO_FPS, DEMO_SIZE)
    for i in range(first_frame, first_frame + frames):
        writer.write(demo_frame(i / DEMO_FPS, photo, background))
    writer.release()
    return path


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Six different clips, one corrupt file and a byte-for-byte copy of a.avi under another name."""
    folder = tmp_path_factory.mktemp("batch") / "clips"
    for k, name in enumerate(GOOD):
        write_clip(folder / name, first_frame=37 * k)
    (folder / "corrupt.avi").write_bytes(b"\x00not a video at all" * 200)
    shutil.copy2(folder / "a.avi", folder / "sub" / "copy_of_a.avi")
    return folder


def model_args(weights_dir: Path) -> list[str]:
    return ["--weights", str(weights_dir), "--model", "squeezenet", "--device", "cpu", "--smoothing", "0.5"]


def index_of(out: Path) -> dict[str, dict]:
    return {e["name"]: e for e in json.loads((out / "index.json").read_text())["videos"]}


def test_inputs_are_files_folders_and_globs_each_once(clips: Path, tmp_path: Path) -> None:
    cwd = clips.parent
    out = cwd / "results"
    write_clip(out / "old_output_video.avi", 0, frames=2)  # under --out: never taken for an input
    videos = find_videos(["clips", "clips/a.avi", str(clips / "sub" / "*.avi")], out, cwd=cwd)
    names = [v.name for v in videos]
    assert names == ["clips/a.avi", "clips/b.avi", "clips/c.avi", "clips/corrupt.avi", "clips/d.avi",
                     "clips/sub/copy_of_a.avi", "clips/sub/e.avi", "clips/sub/f.avi"]
    assert all(v.path.is_absolute() and v.path.is_file() for v in videos)
    outside = find_videos([str(clips / "b.avi")], out, cwd=tmp_path)  # not under the working folder
    assert outside[0].name == str(clips / "b.avi").lstrip("/")
    with pytest.raises(InputError, match="nothing/here.mp4: no such file or folder"):
        find_videos(["nothing/here.mp4"], out, cwd=cwd)
    shutil.rmtree(out)


def test_duplicates_are_found_by_content_and_changes_by_fingerprint(clips: Path, tmp_path: Path) -> None:
    videos = find_videos([str(clips)], tmp_path)
    settings = {"model": "squeezenet"}
    plan = plan_batch(videos, BatchIndex(tmp_path), settings)
    assert [(v.path.name, o.path.name) for v, o in plan.duplicates] == [("copy_of_a.avi", "a.avi")]
    assert len(plan.todo) == len(GOOD) + 1 and not plan.skipped  # the corrupt file too: the task says why

    # A same-sized file whose first MiB matches is no duplicate when the rest differs.
    head = (clips / "a.avi").read_bytes()
    twin = tmp_path / "in" / "twin.avi"
    twin.parent.mkdir()
    twin.write_bytes(head[:-10] + b"0123456789")
    plan = plan_batch(find_videos([str(clips / "a.avi"), str(twin)], tmp_path / "o"), BatchIndex(tmp_path), settings)
    assert not plan.duplicates and len(plan.todo) == 2


def test_stopped_with_sigterm_then_resumed_nothing_done_twice_nothing_lost(
        clips: Path, weights_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture,
        monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "out"
    inputs = [str(clips), str(clips / "a.avi")]  # a.avi twice: once in the folder, once by name
    command = [sys.executable, "-m", "fer_desktop.batch.cli", *inputs, "--out", str(out), "--workers", "1",
               *model_args(weights_dir)]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    run = subprocess.Popen(command, stderr=subprocess.PIPE, text=True, env=env, cwd=tmp_path)
    first_run_log = []
    for line in run.stderr:
        first_run_log.append(line)
        if re.search(r"done\s+\S+: \d+ frames", line):
            run.send_signal(signal.SIGTERM)
            break
    first_run_log.append(run.communicate(timeout=120)[1])
    log = "".join(first_run_log)
    assert run.returncode == 130, log
    assert "Traceback" not in log and "run the same command again" in log

    first = index_of(out)
    done_first = {n for n, e in first.items() if e["status"] == "done"}
    assert done_first and len(done_first) < len(GOOD), log  # stopped part-way
    assert not [p for p in out.rglob("*") if ".partial" in p.name]  # no half-written file left
    for name, entry in first.items():
        if entry["status"] != "done":
            assert entry["status"] in ("pending", "interrupted", "failed", "duplicate") and not (out / f"{name}.csv").exists()
    kept = {n: _identity(out / first[n]["csv"]) for n in done_first}
    for name in done_first:
        _assert_outputs_valid(out, first[name])

    monkeypatch.chdir(tmp_path)  # the names the first run gave
    code = main([*inputs, "--out", str(out), "--workers", "2", *model_args(weights_dir)])
    second_log = capsys.readouterr().err
    assert code == 1, second_log  # the corrupt clip
    final = index_of(out)
    good = {n for n in final if any(n.endswith(f"clips/{g}") for g in GOOD)}
    done_second = set(re.findall(r"done\s+(\S+): \d+ frames", second_log))
    assert not done_first & done_second  # nothing done twice
    assert done_first | done_second == good and len(good) == len(GOOD)  # nothing lost
    assert len(final) == len(GOOD) + 2  # one line per video: the good ones, the corrupt one, the copy
    for name in done_first:
        assert _identity(out / final[name]["csv"]) == kept[name]  # not rewritten
        assert final[name]["analysed_at"] == first[name]["analysed_at"]
    for name in good:
        assert final[name]["status"] == "done"
        _assert_outputs_valid(out, final[name])
    corrupt = next(e for n, e in final.items() if n.endswith("corrupt.avi"))
    assert corrupt["status"] == "failed" and "corrupt.avi" in corrupt["error"] and corrupt["csv"] is None
    copy = next(e for n, e in final.items() if n.endswith("copy_of_a.avi"))
    assert copy["status"] == "duplicate" and copy["duplicate_of"].endswith("clips/a.avi")
    assert copy["csv"] == final[copy["duplicate_of"]]["csv"]
    assert len(list(clips.rglob("*"))) == len(GOOD) + 3  # files and sub/: nothing written beside the inputs


def _identity(path: Path) -> tuple[int, int]:
    stat = path.stat()
    return stat.st_ino, stat.st_mtime_ns


def _assert_outputs_valid(out: Path, entry: dict) -> None:
    summary = json.loads((out / entry["summary"]).read_text())
    with open(out / entry["csv"], newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert summary["complete"] and summary["frames"] == CLIP_FRAMES == entry["frames"]
    assert len(rows) == summary["faces_classified"] == entry["faces"] > 0
    assert summary["device"] == "cpu" and summary["model"] == "squeezenet"


def test_outputs_are_what_headless_mode_writes(clips: Path, weights_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert main([str(clips / "b.avi"), "--out", str(out), "--workers", "1", *model_args(weights_dir)]) == 0
    entry = next(iter(index_of(out).values()))
    headless_csv = tmp_path / "headless.csv"
    summary = run_headless(str(clips / "b.avi"), load_classifier("squeezenet", "cpu", weights_dir), headless_csv,
                           smoothing=0.5)
    assert (out / entry["csv"]).read_bytes() == headless_csv.read_bytes()
    written = json.loads((out / entry["summary"]).read_text())
    expected = {"device": "cpu", "backend": "onnxruntime", **summary.to_dict()}
    assert _untimed(written) == _untimed(expected)


def _untimed(summary: dict) -> dict:
    return {k: v for k, v in summary.items() if k not in TIMING_FIELDS}


def test_a_worker_runs_its_model_on_one_thread(weights_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FER_DESKTOP_ORT_THREADS", "2")
    monkeypatch.setenv("OMP_NUM_THREADS", "2")
    threads = cv2.getNumThreads()
    settings = Settings("squeezenet", "cpu", "onnx", str(weights_dir), 0.5, "x")
    try:
        classifier = task.worker_classifier(settings)
        assert classifier.session.get_session_options().intra_op_num_threads == 1
        assert cv2.getNumThreads() == 1 and task.worker_classifier(settings) is classifier  # loaded once
    finally:
        task._loaded.clear()
        cv2.setNumThreads(threads)


@pytest.mark.parametrize("args, message", [
    (["nowhere.mp4"], "nowhere.mp4: no such file or folder"),
    (["{clips}", "--workers", "0"], "--workers 0: give 1 or more"),
    (["{clips}", "--out", "{file}"], "this is a file; give a folder"),
    (["--ray", "{clips}", "{clips}"], "--ray took"),
])
def test_bad_arguments_are_one_clear_usage_error(args: list[str], message: str, clips: Path, tmp_path: Path,
                                                 capsys: pytest.CaptureFixture) -> None:
    file = tmp_path / "a_file"
    file.write_text("x")
    argv = [a.format(clips=clips, file=file) for a in args]
    if "--out" not in argv:
        argv += ["--out", str(tmp_path / "out")]
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    err = capsys.readouterr().err
    assert exit_.value.code == 2 and message in err and "Traceback" not in err
    assert not (tmp_path / "out").exists()


def test_one_batch_at_a_time_writes_into_a_folder(clips: Path, weights_dir: Path, tmp_path: Path,
                                                  capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "out"
    with only_writer(out):
        code = main([str(clips / "b.avi"), "--out", str(out), *model_args(weights_dir)])
    err = capsys.readouterr().err
    assert code == 2 and "another fer-desktop-batch is writing there" in err
    assert not (out / "index.json").exists()


def test_a_cluster_address_where_nothing_answers_is_one_clear_error(clips: Path, tmp_path: Path,
                                                                   capsys: pytest.CaptureFixture) -> None:
    pytest.importorskip("ray")
    code = main([str(clips / "b.avi"), "--out", str(tmp_path / "out"), "--ray=127.0.0.1:1"])
    err = capsys.readouterr().err
    assert code == 2 and "--ray 127.0.0.1:1: nothing answers there" in err and "Traceback" not in err
    assert not (tmp_path / "out").exists()


@pytest.mark.slow
def test_ray_gives_the_outputs_of_the_process_pool(clips: Path, weights_dir: Path, tmp_path: Path) -> None:
    pytest.importorskip("ray")
    inputs = [str(clips / "b.avi"), str(clips / "sub")]
    pool_out, ray_out = tmp_path / "pool", tmp_path / "ray"
    assert main([*inputs, "--out", str(pool_out), "--workers", "2", *model_args(weights_dir)]) == 0
    # In a process of its own: starting Ray forks, which must never happen in the test process (it has threads).
    ray_run = subprocess.run([sys.executable, "-m", "fer_desktop.batch.cli", *inputs, "--out", str(ray_out),
                              "--workers", "2", *model_args(weights_dir), "--ray"],
                             capture_output=True, text=True, timeout=600)
    assert ray_run.returncode == 0, ray_run.stderr[-2000:]
    pool_index, ray_index = index_of(pool_out), index_of(ray_out)
    assert set(pool_index) == set(ray_index) and len(pool_index) == 4
    for name, entry in pool_index.items():
        assert ray_index[name]["status"] == entry["status"] == "done"
        assert (ray_out / entry["csv"]).read_bytes() == (pool_out / entry["csv"]).read_bytes()
        ray_summary = json.loads((ray_out / entry["summary"]).read_text())
        pool_summary = json.loads((pool_out / entry["summary"]).read_text())
        assert _untimed(ray_summary) == _untimed(pool_summary)


def test_an_index_json_the_batch_did_not_write_is_left_alone(clips: Path, weights_dir: Path, tmp_path: Path,
                                                            capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "index.json").write_text('{"mine": 1}')
    code = main([str(clips / "b.avi"), "--out", str(out), *model_args(weights_dir)])
    err = capsys.readouterr().err
    assert code == 2 and "index.json is not an index that fer-desktop-batch wrote" in err and "Traceback" not in err
    assert (out / "index.json").read_text() == '{"mine": 1}' and not list(out.rglob("*.csv"))


@pytest.mark.parametrize("out", ["{file}/sub", "/proc/fer-desktop-batch-out"])
def test_an_out_folder_that_cannot_be_made_is_one_sentence(out: str, clips: Path, weights_dir: Path, tmp_path: Path,
                                                          capsys: pytest.CaptureFixture) -> None:
    file = tmp_path / "a_file"
    file.write_text("x")
    code = main([str(clips / "b.avi"), "--out", out.format(file=file), *model_args(weights_dir)])
    err = capsys.readouterr().err.strip()
    assert code == 2 and "the folder cannot be made" in err and len(err.splitlines()) == 1


def test_a_folder_without_videos_says_so(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(SystemExit) as exit_:
        main([str(tmp_path / "empty"), "--out", str(tmp_path / "out")])
    assert exit_.value.code == 2 and "empty: this folder holds no video" in capsys.readouterr().err


def test_a_named_pipe_is_never_taken_for_a_video(tmp_path: Path) -> None:
    folder = tmp_path / "clips"
    write_clip(folder / "a.avi", 0, frames=2)
    os.mkfifo(folder / "live.mp4")  # fingerprinting it would wait for a writer for ever, past Ctrl-C
    assert [v.name for v in find_videos([str(folder)], tmp_path / "out", cwd=tmp_path)] == ["clips/a.avi"]
    with pytest.raises(InputError, match="live.mp4: not a file but a pipe or a device"):
        find_videos([str(folder / "live.mp4")], tmp_path / "out", cwd=tmp_path)


def test_ctrl_c_while_the_model_loads_is_one_line_and_130(clips: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                          capsys: pytest.CaptureFixture) -> None:
    import fer_desktop.batch.cli as cli

    def interrupted(*args: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "checked_settings", interrupted)
    assert main([str(clips / "b.avi"), "--out", str(tmp_path / "out"), "--device", "cpu"]) == 130
    assert capsys.readouterr().err == "fer-desktop-batch: interrupted\n" and not (tmp_path / "out").exists()
