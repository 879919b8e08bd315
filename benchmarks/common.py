"""What the benchmarks share: weights to time, the machine, pausing a background job, percentiles, JSON."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run from a fresh clone without installing
    sys.path.insert(0, str(ROOT))

from fer_desktop.models import MODEL_NAMES as MODELS  # noqa: E402  (re-exported for the scripts)
from trainer.machine import describe_machine, machine  # noqa: E402  (re-exported for the scripts)

RESULTS_DIR = ROOT / "benchmarks" / "results"
QUIET_LOAD = 0.15  # cores other processes may use before a timed section starts
DISTURBED_LOAD = 0.25  # cores other processes may use during one before it is measured again
T = TypeVar("T")


def shown_path(path: Path) -> str:
    """A path as results show it: from the repository where it lies inside it, else just its name.

    A machine's own folders never reach a committed result.
    """
    try:
        return str(Path(path).resolve().relative_to(ROOT))
    except ValueError:
        return Path(path).name


def prepare_weights(models: Sequence[str], weights_dir: Path | None = None) -> tuple[Path, dict[str, str]]:
    """A folder holding every model of ``models``: the trained files where they exist, random ones elsewhere.

    Returns the folder and, per model, "trained" or "random". For timing the
    values do not matter; for the outputs check both give the same answer.
    """
    import torch

    from fer_desktop.inference.onnx_backend import quantized_path
    from fer_desktop.models import create_model, get_model
    from fer_desktop.weights import DEFAULT_WEIGHTS_DIR, files_read, save_ensemble, save_weights, weights_path

    def copy_shipped(name: str) -> None:
        """The weights and, where one ships, the int8 file made from them: what the app would pick."""
        shutil.copy2(weights_path(name, source), folder)
        if quantized_path(name, source).is_file():
            shutil.copy2(quantized_path(name, source), folder)

    source = Path(weights_dir or DEFAULT_WEIGHTS_DIR)
    folder = Path(tempfile.mkdtemp(prefix="fer-bench-weights-"))
    kinds: dict[str, str] = {}
    torch.manual_seed(0)
    fusions = [get_model(m) for m in models if get_model(m).is_fusion]
    archs = {m for m in models if not get_model(m).is_fusion} | {m for f in fusions for m in f.members}
    for arch in sorted(archs):
        if weights_path(arch, source).is_file():
            copy_shipped(arch)
            kinds[arch] = "trained"
        else:
            save_weights(weights_path(arch, folder), arch, create_model(arch).state_dict(), info={"note": "random"})
            kinds[arch] = "random"
    for fusion in fusions:
        members_trained = all(kinds[m] == "trained" for m in fusion.members)
        shipped = files_read(fusion.name, source)
        if members_trained and all(f.is_file() for f in shipped):
            copy_shipped(fusion.name)
            for member in shipped[1:]:  # further members of one architecture (vgg19-2); the registry's are there
                if not (folder / member.name).is_file():
                    shutil.copy2(member, folder)
            kinds[fusion.name] = "trained"
        else:
            save_ensemble(weights_path(fusion.name, folder), {m: 0.5 for m in fusion.members}, {"note": "random"})
            kinds[fusion.name] = "random" if not members_trained else "trained members, even fusion"
    return folder, {m: kinds[m] for m in models}


def _cpu_seconds() -> tuple[float, float]:
    """(seconds all CPUs were busy, seconds this process and its children ran) so far."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle, iowait
    hz = os.sysconf("SC_CLK_TCK")
    own = os.times()
    return (sum(fields[:8]) - idle) / hz, own.user + own.system + own.children_user + own.children_system


def background_load(seconds: float = 0.5) -> float:
    """Cores' worth of CPU that other processes used over ``seconds``."""
    busy0, own0 = _cpu_seconds()
    time.sleep(seconds)
    busy1, own1 = _cpu_seconds()
    return max(0.0, (busy1 - busy0) - (own1 - own0)) / seconds


@contextmanager
def paused(pid: int | None, quiet: float = QUIET_LOAD, max_wait: float = 600.0) -> Iterator[dict[str, float]]:
    """Stop process ``pid`` (a training run) while timing, and always let it go on afterwards.

    Then waits (up to ``max_wait`` s) until the rest of the machine uses less
    than ``quiet`` cores. The yielded dict gets ``background_cores``: what
    other processes used during the section, so a disturbed figure shows.
    """
    section: dict[str, float] = {}
    if pid:
        try:
            os.kill(pid, signal.SIGSTOP)
        except ProcessLookupError:  # it has finished: nothing to pause
            pid = None
    try:
        deadline = time.perf_counter() + max_wait
        while (load := background_load()) > quiet and time.perf_counter() < deadline:
            print(f"  waiting: other processes use {load:.2f} cores", file=sys.stderr)
            time.sleep(2.0)
        busy0, own0 = _cpu_seconds()
        t0 = time.perf_counter()
        yield section
        busy1, own1 = _cpu_seconds()
        section["background_cores"] = max(0.0, (busy1 - busy0) - (own1 - own0)) / max(time.perf_counter() - t0, 1e-9)
    finally:
        if pid:
            os.kill(pid, signal.SIGCONT)


def quietly(measure: Callable[[], T], pid: int | None, tries: int = 4) -> tuple[T, float]:
    """``measure()`` with ``pid`` paused, again while other processes ran during it (up to ``tries`` times).

    Returns the result and the cores other processes used meanwhile (of the last try).
    """
    for attempt in range(tries):
        with paused(pid) as section:
            result = measure()
        if section["background_cores"] <= DISTURBED_LOAD:
            break
        print(f"  disturbed: other processes used {section['background_cores']:.2f} cores; "
              f"{'again' if attempt + 1 < tries else 'kept, flagged'}", file=sys.stderr)
    return result, section["background_cores"]


def add_common_arguments(p: argparse.ArgumentParser, out: str, weights: bool = True) -> None:
    """``--weights`` (where the models take their files), ``--pause`` and ``--out``, alike in every script."""
    if weights:
        p.add_argument("--weights", type=Path, help="weights folder (default: weights/; random weights fill the gaps)")
    p.add_argument("--pause", metavar="PID|FILE", help="SIGSTOP this process while timing, SIGCONT after")
    p.add_argument("--out", type=Path, default=RESULTS_DIR / out, help="the JSON written (default: %(default)s)")


def add_public_faces_arguments(p: argparse.ArgumentParser, limit: int, per: str = "") -> None:
    """``--data``, ``--model``, ``--weights``, ``--limit`` and ``--seed`` of the scripts that measure a model on PublicTest faces."""
    from fer_desktop.weights import DEFAULT_WEIGHTS_DIR

    p.add_argument("--data", required=True, type=Path, help="FER-2013 (Kaggle folder, .zip or fer2013.csv)")
    p.add_argument("--model", default="squeezenet", choices=MODELS)
    p.add_argument("--weights", type=Path, default=DEFAULT_WEIGHTS_DIR, help="weights folder (default: weights/)")
    p.add_argument("--limit", type=int, default=limit, help=f"PublicTest faces{per} (default: %(default)s)")
    p.add_argument("--seed", type=int, default=0, help="draws the faces and their frames (default: %(default)s)")


def announce_machine(note: str = "") -> dict[str, Any]:
    """The machine's description, printed first on stderr, so that no figure goes without it."""
    info = machine()
    print(f"# {describe_machine(info)}{note}", file=sys.stderr)
    return info


def pause_pid(value: str | None) -> int | None:
    """``--pause`` accepts a pid or a file holding one; None (nothing to pause) when that process has ended."""
    if not value:
        return None
    try:
        pid = int(value) if value.strip().isdigit() else int(Path(value).read_text().strip())
        command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
    except (OSError, ValueError):
        print(f"--pause {value}: no such process running; timing without pausing anything", file=sys.stderr)
        return None
    print(f"pausing pid {pid} while timing: {command[:120]}", file=sys.stderr)
    return pid


def percentiles(values: Sequence[float], which: Sequence[int] = (50, 95)) -> dict[str, float]:
    if len(values) == 0:
        return {}
    return {f"p{q}": float(v) for q, v in zip(which, np.percentile(np.asarray(values, float), which))}


def write_json(path: Path, data: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2) + "\n")
    print(f"wrote {path}", file=sys.stderr)


def print_background(values: Sequence[float]) -> None:
    """How much other processes ran during the timed sections: near 0 means clean figures."""
    if values:
        print(f"\nother processes during timing: mean {np.mean(values):.2f}, max {max(values):.2f} cores")


def print_table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """A Markdown table, so it can be pasted into the README."""
    cells = [[str(c) for c in header], *[[str(c) for c in row] for row in rows]]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    line = lambda r: "| " + " | ".join(c.ljust(w) for c, w in zip(r, widths)) + " |"  # noqa: E731
    print(line(cells[0]))
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for row in cells[1:]:
        print(line(row))


def span(row: dict[str, Any], key: str, scale: float, digits: int) -> str:
    """`` [low-high]``, the row's 95% interval of a figure, or nothing for a run made before intervals were kept."""
    if key not in row:
        return ""
    low, high = row[key]
    return f" [{scale * low:.{digits}f}-{scale * high:.{digits}f}]"
