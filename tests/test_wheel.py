"""The built distribution carries everything: a wheel made from the sdist runs the headless demo elsewhere."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import tarfile
import zipfile
from pathlib import Path

import pytest

from checkout import ROOT, copy_of_checkout

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]


def _fresh_venv(folder: Path) -> Path:
    """A venv holding nothing of this project; it sees the dependencies of the running Python as plain folders.

    A plain folder in a .pth is added without running that folder's own .pth files, so an editable install
    of this project in the running environment stays invisible to the venv.
    """
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(folder)], check=True)
    python = folder / "bin" / "python"
    site = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          check=True, capture_output=True, text=True).stdout.strip()
    outer = dict.fromkeys(sysconfig.get_paths()[k] for k in ("purelib", "platlib"))
    (Path(site) / "outer_dependencies.pth").write_text("\n".join(outer) + "\n")
    return python


def test_a_wheel_built_from_the_sdist_runs_the_headless_demo_from_another_folder(tmp_path: Path) -> None:
    checkout = copy_of_checkout(tmp_path / "checkout")
    dist = tmp_path / "dist"
    build = "import sys; from setuptools import build_meta as b; print(b.build_sdist(sys.argv[1]))"
    sdist = dist / subprocess.run([sys.executable, "-c", build, str(dist)], cwd=checkout, check=True,
                                  capture_output=True, text=True).stdout.strip().splitlines()[-1]
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(dist),
                    str(sdist)], check=True)
    wheel = next(dist.glob("fer_desktop-*.whl"))

    with tarfile.open(sdist) as tar:
        in_sdist = {name.split("/", 1)[1] for name in tar.getnames() if "/" in name}
    with zipfile.ZipFile(wheel) as zf:
        in_wheel = set(zf.namelist())
    shipped = [p.relative_to(checkout).as_posix() for folder in ("weights", "assets") for p in (checkout / folder).iterdir()]
    assert set(shipped) <= in_sdist
    assert {f"fer_desktop/shipped/{name}" for name in shipped} <= in_wheel
    code = {p.relative_to(checkout).as_posix() for pkg in ("fer_desktop", "trainer") for p in (checkout / pkg).rglob("*.py")}
    assert code <= in_wheel, f"packages missing from pyproject.toml's list: {sorted(code - in_wheel)}"
    shutil.rmtree(checkout)  # from here on there is no source tree to read from but the real one

    python = _fresh_venv(tmp_path / "venv")
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "--no-index", "--ignore-installed", "-q",
                    str(wheel)], check=True)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["FER_DESKTOP_CACHE"] = str(tmp_path / "cache")
    where = subprocess.run(
        [str(python), "-c", "import fer_desktop, trainer; from fer_desktop import resources as r; "
         "print(fer_desktop.__file__, trainer.__file__, r.WEIGHTS_DIR, r.DETECTOR_MODEL, sep='\\n')"],
        cwd=elsewhere, env=env, check=True, capture_output=True, text=True).stdout.split()
    venv = (tmp_path / "venv").resolve()
    assert all(Path(p).resolve().is_relative_to(venv) for p in where), where

    run = subprocess.run([str(python.parent / "fer-desktop"), "--headless", "--source", "demo", "--max-frames", "60",
                          "--model", "squeezenet", "--device", "cpu", "--summary", "S.json"],
                         cwd=elsewhere, env=env, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    summary = json.loads((elsewhere / "S.json").read_text())
    assert summary["frames"] == 60 and summary["frames_with_face"] >= 50, summary
    assert summary["backend"] == "onnxruntime-int8", summary  # the shipped int8 file, found inside the package
    # A model without one is exported once, into the user's cache: the environment may be read-only.
    subprocess.run([str(python), "-c", "from fer_desktop.inference import load_classifier; "
                    "assert load_classifier('squeezenet', 'cpu', backend='onnx').backend == 'onnxruntime'"],
                   cwd=elsewhere, env=env, check=True, timeout=600)
    assert list((tmp_path / "cache" / "onnx").glob("squeezenet-*.onnx")), "the ONNX export goes to the user's cache"
    shipped = [*(ROOT / "assets").glob("*.onnx"), *(ROOT / "weights").glob("*.int8.onnx")]
    assert sorted(p.name for p in venv.rglob("*.onnx")) == sorted(p.name for p in shipped)
    assert str(ROOT) not in run.stderr
