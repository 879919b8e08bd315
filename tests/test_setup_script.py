"""scripts/setup.sh installs into the active environment, else into the project's own .venv, never the system's.

The package is installed without its dependencies here (PIP_NO_DEPS) to keep this quick: where it goes is
what is tested; .ci/run installs everything with the same script.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from checkout import copy_of_checkout

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]


def setup(checkout: Path, active_env: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "CONDA_PREFIX", "PYTHONPATH")}
    env["PIP_NO_DEPS"] = "1"
    if active_env is not None:
        env["VIRTUAL_ENV"] = str(active_env)
        env["PATH"] = f"{active_env / 'bin'}{os.pathsep}{env['PATH']}"
    return subprocess.run(["bash", "scripts/setup.sh"], cwd=checkout, env=env, capture_output=True, text=True,
                          timeout=800)


def installed_from(python: Path) -> str:
    code = "import importlib.metadata as m; print(m.distribution('fer-desktop').read_text('direct_url.json'))"
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    return subprocess.run([str(python), "-c", code], cwd=python.parent, env=env, capture_output=True, text=True,
                          check=True).stdout


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    return copy_of_checkout(tmp_path / "checkout")


@pytest.mark.skipif(shutil.which("python3") is None, reason="needs a python3 on PATH, as the README does")
def test_without_an_active_environment_it_makes_the_project_venv(checkout: Path) -> None:
    run = setup(checkout)
    assert run.returncode == 0, run.stderr[-3000:]
    venv = checkout / ".venv"
    assert (venv / "pyvenv.cfg").is_file() and not venv.is_symlink()
    assert checkout.as_uri() in installed_from(venv / "bin" / "python")
    assert (venv / "bin" / "fer-desktop").is_file()
    again = setup(checkout)  # run again: the same .venv is reused
    assert again.returncode == 0 and "making the project's virtual environment" not in again.stdout


def test_inside_an_active_environment_it_installs_there(checkout: Path, tmp_path: Path) -> None:
    active = tmp_path / "active"
    subprocess.run([sys.executable, "-m", "venv", str(active)], check=True)
    run = setup(checkout, active)
    assert run.returncode == 0, run.stderr[-3000:]
    assert (checkout / ".venv").is_symlink() and (checkout / ".venv").resolve() == active.resolve()
    assert checkout.as_uri() in installed_from(active / "bin" / "python")


def test_a_venv_folder_of_another_environment_is_left_alone(checkout: Path, tmp_path: Path) -> None:
    (checkout / ".venv").mkdir()
    (checkout / ".venv" / "mine.txt").write_text("the user's")
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(tmp_path / "active")], check=True)
    run = setup(checkout, tmp_path / "active")
    assert run.returncode == 2 and run.stderr.count("\n") == 1 and ".venv/" in run.stderr
    assert [p.name for p in (checkout / ".venv").iterdir()] == ["mine.txt"]
