"""Conventions of every command: --version, `python -m fer_desktop`, exit codes 0/1/2/130, no display."""

from __future__ import annotations

import importlib
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from fer_desktop.cli import EXIT_DONE, EXIT_FAILED, EXIT_INTERRUPTED, EXIT_USAGE

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10; pytest brings tomli there
    import tomli as tomllib

import trainer.train
from fer_desktop import __version__

ROOT = Path(__file__).resolve().parent.parent
COMMANDS = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]


def exit_status(e: pytest.ExceptionInfo[SystemExit]) -> int:
    """The status the process ends with: SystemExit("message") prints it and ends with 1."""
    code = e.value.code
    return EXIT_DONE if code is None else EXIT_FAILED if isinstance(code, str) else int(code)


def entry_point(target: str):
    module, function = target.split(":")
    return getattr(importlib.import_module(module), function)


def app_env(**changes: str | None) -> dict[str, str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    for key, value in changes.items():
        env.pop(key, None) if value is None else env.__setitem__(key, value)
    return env


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_every_command_prints_its_version(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as e:
        entry_point(COMMANDS[command])(["--version"])
    assert exit_status(e) == EXIT_DONE
    assert capsys.readouterr().out == f"{command} {__version__}\n"


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_a_bad_flag_is_a_usage_error(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as e:
        entry_point(COMMANDS[command])(["--no-such-flag"])
    assert exit_status(e) == EXIT_USAGE
    assert f"{command}: error: " in capsys.readouterr().err


def test_python_m_fer_desktop_is_the_command() -> None:
    run = subprocess.run([sys.executable, "-m", "fer_desktop", "--version"], env=app_env(),
                         capture_output=True, text=True, timeout=120)
    assert (run.returncode, run.stdout) == (EXIT_DONE, f"fer-desktop {__version__}\n")


def test_unusable_data_fails_with_one_sentence(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "fer2013.csv").write_text("not,fer\n1,2\n")
    with pytest.raises(SystemExit) as e:
        trainer.train.main(["--model", "squeezenet", "--data", str(tmp_path / "fer2013.csv"), "--out", str(tmp_path)])
    assert exit_status(e) == EXIT_FAILED
    assert str(e.value.code).startswith("fer-desktop-train: ") and "\n" not in str(e.value.code)


def test_an_interrupted_training_ends_with_130(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    def interrupted(cfg: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(trainer.train, "train", interrupted)
    with pytest.raises(SystemExit) as e:
        trainer.train.main(["--model", "squeezenet", "--data", str(tmp_path / "any.zip")])
    assert exit_status(e) == EXIT_INTERRUPTED


@pytest.mark.parametrize("saved", [False, True])
def test_an_interrupted_training_says_whether_resume_can_continue_it(
    saved: bool, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    def interrupted(cfg: object) -> None:
        if saved:  # Ctrl-C after the first epoch's checkpoint, else before it
            (tmp_path / "squeezenet").mkdir()
            (tmp_path / "squeezenet" / "checkpoint.pt").write_bytes(b"an epoch")
        raise KeyboardInterrupt

    monkeypatch.setattr(trainer.train, "train", interrupted)
    with pytest.raises(SystemExit) as e:
        trainer.train.main(["--model", "squeezenet", "--data", "any.zip", "--out", str(tmp_path)])
    assert exit_status(e) == EXIT_INTERRUPTED
    err = capsys.readouterr().err
    assert err.startswith("fer-desktop-train: interrupted; ") and err.count("\n") == 1
    assert ("continue with --resume" in err) is saved and ("nothing is saved" in err) is not saved


def test_ctrl_c_ends_a_headless_run_with_130(tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "fer_desktop", "--headless", "--source", "demo", "--model", "squeezenet",
         "--device", "cpu", "--backend", "torch", "--summary", str(tmp_path / "s.json")],
        env=app_env(), stderr=subprocess.PIPE, stdout=subprocess.DEVNULL)
    assert proc.stderr is not None
    seen, deadline = b"", time.monotonic() + 120
    while not re.search(rb"[1-9]\d*frame", seen) and time.monotonic() < deadline:
        seen += os.read(proc.stderr.fileno(), 4096) or b""  # the progress bar: frames are flowing
    proc.send_signal(signal.SIGINT)
    _, rest = proc.communicate(timeout=60)
    assert proc.returncode == EXIT_INTERRUPTED, (seen + rest).decode()[-2000:]
    assert b"Traceback" not in seen + rest
    assert (tmp_path / "s.json").is_file()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="X11 and Wayland are Linux's")
def test_no_display_is_one_sentence_and_exit_2() -> None:
    run = subprocess.run([sys.executable, "-m", "fer_desktop", "--source", "demo"],
                         env=app_env(DISPLAY=None, WAYLAND_DISPLAY=None, QT_QPA_PLATFORM=None),
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == EXIT_USAGE
    assert run.stderr.count("\n") == 1 and "no display found" in run.stderr and "--headless" in run.stderr
    assert "QT_QPA_PLATFORM=offscreen" in run.stderr and "Traceback" not in run.stderr and "qt." not in run.stderr


def test_ctrl_c_while_the_model_loads_is_130_too(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    import fer_desktop.app
    import fer_desktop.inference

    def interrupted(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(fer_desktop.inference, "load_classifier", interrupted)
    assert fer_desktop.app.main(["--headless", "--source", "demo", "--max-frames", "1"]) == EXIT_INTERRUPTED
    err = capsys.readouterr().err
    assert err.startswith("fer-desktop: ") and err.count("\n") == 1 and "Traceback" not in err
