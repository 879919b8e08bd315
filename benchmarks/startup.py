"""Start-up: from launching the app on the demo to its first classified frame on the chart.

    python benchmarks/startup.py                        # squeezenet, 1 cold + 4 warm launches
    python benchmarks/startup.py --models squeezenet ensemble --runs 3
    python benchmarks/startup.py --pause /tmp/fer-train.pid   # stop a training run while timing

Each launch is the app in window mode on the demo (offscreen), through
``benchmarks/first_result.py``, which wraps the window from outside: it prints
the wall-clock time of the first classified frame charted, then closes it. The first launch
per model starts with an empty model cache (the ONNX export is part of it,
as on a fresh install); the others find the export cached.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import (
    MODELS, ROOT, add_common_arguments, announce_machine, describe_machine, pause_pid, prepare_weights,
    print_background, print_table, quietly, write_json,
)

FIRST = re.compile(r"first classified frame at ([0-9.]+)")
TIMEOUT_S = 120


def launch(model: str, weights_dir: Path, cache: Path | None, pid: int | None) -> tuple[dict, Path]:
    """One launch; ``cache`` None starts from an empty model cache. Returns the figures and the cache used."""
    command = [sys.executable, str(ROOT / "benchmarks" / "first_result.py"), "--source", "demo", "--model", model, "--device", "cpu",
               "--weights", str(weights_dir)]

    def run() -> tuple[subprocess.CompletedProcess, float, float, Path]:
        used = cache or Path(tempfile.mkdtemp(prefix="fer-bench-cache-"))  # a retried cold launch starts cold too
        env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "FER_DESKTOP_CACHE": str(used), "PYTHONPATH": str(ROOT)}
        t0 = time.time()
        out = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True, timeout=TIMEOUT_S)
        return out, t0, time.time() - t0, used

    (out, t0, exited, used), background = quietly(run, pid)
    found = FIRST.search(out.stderr)
    if found is None:
        raise SystemExit(f"{model}: no classified frame reported (exit {out.returncode}):\n{out.stderr[-2000:]}")
    return {"first_result_s": float(found.group(1)) - t0, "exit_s": exited, "background_cores": background}, used


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--models", nargs="+", default=["squeezenet"], choices=MODELS)
    p.add_argument("--runs", type=int, default=5, help="launches per model: 1 with an empty cache, then warm")
    add_common_arguments(p, "startup.json")
    args = p.parse_args(argv)
    pid = pause_pid(args.pause)
    weights_dir, kinds = prepare_weights(args.models, args.weights)
    info = announce_machine()
    runs = {}
    for model in args.models:
        cache = None
        runs[model] = []
        for i in range(args.runs):
            figures, cache = launch(model, weights_dir, cache, pid)
            runs[model].append({"cache": "empty" if i == 0 else "warm", **figures})
            print(f"{model} launch {i + 1}: first classified frame after {runs[model][-1]['first_result_s']:.2f} s",
                  file=sys.stderr)
            time.sleep(1.0)  # let a paused job run between launches

    print(f"\n{describe_machine(info)}; `python -m fer_desktop.app --source demo`, Qt offscreen\n")
    rows = []
    for model, launches in runs.items():
        warm = [r["first_result_s"] for r in launches if r["cache"] == "warm"]
        rows.append([model, f"{launches[0]['first_result_s']:.2f}",
                     f"{statistics.median(warm):.2f}" if warm else "–", f"{max(warm):.2f}" if warm else "–"])
    print_table(["model", "first launch s (export)", "warm median s", "warm max s"], rows)
    print_background([r["background_cores"] for launches in runs.values() for r in launches])
    write_json(args.out, {"machine": info, "paused_pid": pid, "weights": kinds, "runs": runs})
    return 0


if __name__ == "__main__":
    sys.exit(main())
