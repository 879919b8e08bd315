"""Write weights/README.md, the model card, from the shipped weights and the inference benchmark.

    python benchmarks/model_card.py --data path/to/fer2013.zip
    python benchmarks/model_card.py --data path/to/fer2013.zip --only vgg19 ensemble speed

``--only`` measures and rewrites the named sections (models, or ``speed``) and keeps the others as
the card has them: after shipping one model's weights, the rest need not be measured again.

For every model in ``weights/``: architecture and size, how it was trained
(the record its trainer wrote into the file), PublicTest accuracy single-crop and ten-crop
with per-class precision / recall / F1 (measured here, from the shipped file,
exactly as ``fer-desktop-eval`` measures them), and CPU latency per face from
``benchmarks/results/inference.json``.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from pathlib import Path

import numpy as np
from common import ROOT, RESULTS_DIR, describe_machine, machine, span  # noqa: E402  (adds the repo to sys.path)

from fer_desktop.calibration import apply_calibration
from fer_desktop.inference.onnx_backend import OnnxClassifier, quantized_path
from fer_desktop.models import MODEL_NAMES, count_parameters, get_model, mirror_averaged
from fer_desktop.weights import DEFAULT_WEIGHTS_DIR, files_read, load_ensemble, load_model, member_path, weights_path
from trainer.data import load_fer
from trainer.metrics import classification_metrics, ece
from trainer.predict import classifier_probs, predict_probs
from trainer.report import plot_confusion, plot_curves
from trials import read_trials

DOCS = ROOT / "docs" / "models"


BACKENDS = {"int8-2t": "ONNX Runtime int8, 2 threads (the app's CPU default where an int8 file ships)",
            "onnx-2t": "ONNX Runtime float, 2 threads", "torch": "PyTorch fp32"}


def latency(inference: dict, name: str) -> str:
    """Per-face latency at batch 1 and 8: the app's CPU backend and eager PyTorch."""
    cells = {(r["backend"], r["batch"]): r["ms_per_face"] for r in inference.get("results", []) if r["model"] == name}
    parts = [f"{label}: {cells[b, 1]:.2f} ms at batch 1, {cells[b, 8]:.2f} ms at batch 8"
             for b, label in BACKENDS.items() if (b, 1) in cells and (b, 8) in cells]
    return "; ".join(parts) or "not measured: run `python benchmarks/inference.py`"


def shown(command: str | None) -> str:
    """A recorded command as a reader can run it from the repository: a machine's own folders become relative."""
    if not command:
        return "not recorded"
    words = []
    for word in shlex.split(command):
        path = Path(word)
        if path.is_absolute():
            parts = path.parts
            if "runs" in parts:
                word = str(Path(*parts[parts.index("runs"):]))
            elif path.suffix in (".zip", ".csv") or "data" in parts:
                word = f"data/{path.name}"
            elif ROOT in path.parents:
                word = str(path.relative_to(ROOT))
            else:
                word = path.name
        words.append(word)
    return shlex.join(words)


def training_line(info: dict) -> str:
    """Epochs, wall time and machine, from the record the trainer adds to the weights when a run finishes."""
    run = info.get("training")
    if not run:
        return (f"- Epochs: {info.get('epochs', '?')}, best PublicTest at epoch {info.get('epoch', '?')}; "
                "no training record in this file (it was saved by a run that did not finish)")
    return (f"- Epochs run: {run['epochs_run']} of {info['epochs']}, best PublicTest at epoch {info['epoch']}; "
            f"training time {run['train_seconds'] / 60:.0f} min (sum of epoch times, validation excluded) on "
            + "; ".join(run["machines"]))


def batchnorm_line(info: dict) -> list[str]:
    """Whether the BatchNorm statistics were measured anew after training (``python -m trainer.recalibrate``)."""
    bn = info.get("batchnorm")
    if not bn:
        return []
    before, after = bn["public_accuracy_trained"], bn["public_accuracy_recalibrated"]
    kind = "averaged" if info.get("soup") else "trained"
    outcome = "kept" if bn["recalibrated"] else f"not kept: the {kind} statistics stay"
    return [f"- BatchNorm statistics measured anew on {bn['faces']:,} un-augmented training crops (centre crops "
            f"and their mirrors) after {'averaging' if info.get('soup') else 'training'}: PublicTest single crop "
            f"{before:.2%} with the {kind} statistics, {after:.2%} with the new ones ({outcome})"]


def soup_lines(info: dict) -> list[str]:
    """The runs whose weights were averaged into these (``python -m trainer.soup``), if any."""
    soup = info.get("soup")
    if not soup:
        return []
    if "mix" in soup:
        base, tuned = soup["runs"]
        return [f"- A mix in weight space (WiSE-FT, `python -m trainer.soup --mix {soup['mix']}`) of the clean model and "
                f"its fine-tune for webcam conditions: {info['public_accuracy']:.2%} single crop",
                f"  - {base['share']:.0%} of the clean model ({base['public_accuracy']:.2%} alone)"
                + (", itself an average:" if base.get("soup") else f", trained with `{shown(base['command'])}`"),
                *(run_lines(base["soup"]["runs"], 2) if base.get("soup") else []),
                f"  - {tuned['share']:.0%} of the fine-tune ({tuned['public_accuracy']:.2%} alone), trained with "
                f"`{shown(tuned['command'])}`"]
    averaged = sum(r["averaged"] for r in soup["runs"])
    inputs = ("files, each a run or an average of runs" if any(r.get("soup") for r in soup["runs"])
              else "runs that started from the same weights")
    return [f"- Weights averaged over {averaged} of {len(soup['runs'])} {inputs} "
            f"(`python -m trainer.soup`, each run joining only if PublicTest accuracy does not fall): "
            f"{info['public_accuracy']:.2%} single crop, the best run alone {soup['public_accuracy_best_run']:.2%}; "
            "the command, epochs and warm restarts given here are the best run's", *run_lines(soup["runs"], 1)]


def run_lines(runs: list[dict], depth: int) -> list[str]:
    """A line per run of an average; one that is itself an average lists its own runs under it."""
    lines = []
    for r in runs:
        head = f"{'  ' * depth}- {'averaged' if r['averaged'] else 'left out'}: {r['public_accuracy']:.2%} alone, "
        if r.get("soup"):
            lines += [head + "itself an average:", *run_lines(r["soup"]["runs"], depth + 1)]
        else:
            lines.append(head + f"trained with `{shown(r['command'])}`")
    return lines


def curves(name: str, info: dict) -> list[str]:
    """The training curves of the run behind the file: plotted from its record, or as plotted when it shipped."""
    history = (info.get("training") or {}).get("history")
    if history:
        plot_curves(history, DOCS / f"{name}-curves.png", f"{name}: training curves")
    elif not (DOCS / f"{name}-curves.png").is_file():
        return []
    return [f"![{name} training curves](../docs/models/{name}-curves.png)", ""]


def started_from(info: dict) -> list[str]:
    """A line per warm restart (``--init``) behind these weights, newest first."""
    lines, step = [], info.get("init")
    while step:
        acc = step.get("public_accuracy")
        src = step["from"]
        src = f"the weights then shipped as `weights/{src}.safetensors`" if not Path(src).suffix else f"`{shown(src)}`"
        lines.append(f"- Started from {src}: {step.get('epochs', '?')} epochs"
                     + (f", {acc:.2%} on PublicTest" + ("" if step.get("batchnorm", {}).get("recalibrated")
                                                         else " in its trainer's pass") if acc is not None else "")
                     + (f", trained with `{shown(step['command'])}`" if step.get("command") else ""))
        step = step.get("init")
    return lines


# PublicTest probabilities of each model measured in this run, single crop (False) and ten-crop (True).
PROBS: dict[tuple[str, bool], np.ndarray] = {}


def measure(name: str, model, spec, data) -> tuple[dict, dict]:
    """Single-crop and ten-crop metrics on PublicTest, and the confusion matrix image."""
    x, y = data.select("public")
    fusion = json.loads(weights_path(name).read_text())["members"] if get_model(name).is_fusion else {}
    if fusion and all((m, tta) in PROBS for m in fusion for tta in (False, True)):
        # A fusion's probabilities are the weighted mean of its members' (ten-crop averaging is linear too):
        # the members' passes just made are reused rather than run again.
        total = sum(fusion.values())
        for tta in (False, True):
            PROBS[name, tta] = sum(w / total * PROBS[m, tta] for m, w in fusion.items())
    else:
        mirror = mirror_averaged(name)  # as the app and fer-desktop-eval classify it
        PROBS[name, False] = predict_probs(model, spec, x, mirror=mirror, progress=f"{name}, single crop")
        PROBS[name, True] = predict_probs(model, spec, x, tta=True, progress=f"{name}, ten-crop")
    single = classification_metrics(y, PROBS[name, False])
    ten = classification_metrics(y, PROBS[name, True])
    DOCS.mkdir(parents=True, exist_ok=True)
    plot_confusion(np.array(single["confusion_matrix"]), DOCS / f"{name}-confusion.png",
                   f"{name}, PublicTest, single crop: {single['accuracy']:.2%}")
    return single, ten


def results(name: str, single: dict, ten: dict, inference: dict, host: str, data) -> list[str]:
    """The lines every model's card ends with: accuracy, latency, per-class table, confusion matrix."""
    return [
        f"- PublicTest ({single['n']} faces): **{single['accuracy']:.2%} single crop**"
        + (" (each crop averaged with its mirror, as the app does)" if mirror_averaged(name) else "")
        + f", {ten['accuracy']:.2%} ten-crop; "
        f"macro F1 {single['macro_f1']:.3f}; emotion detection rate {single['emotion_detection_rate']} "
        f"(thesis figure to beat: {get_model(name).thesis_accuracy:.2f}%)",
        *int8_lines(name, data),
        f"- CPU latency per face on {host}: {latency(inference, name)}",
        *calibration_lines(name),
        "",
        "| class | precision | recall | F1 | support |",
        "| --- | --- | --- | --- | --- |",
        *[f"| {c} | {m['precision']:.3f} | {m['recall']:.3f} | {m['f1']:.3f} | {m['support']} |"
          for c, m in single["per_class"].items()],
        "",
        f"![{name} confusion matrix on PublicTest](../docs/models/{name}-confusion.png)",
        "",
    ]


def int8_lines(name: str, data) -> list[str]:
    """The shipped int8 file, measured here from the file as ``fer-desktop-eval --backend int8`` measures it."""
    path = quantized_path(name, DEFAULT_WEIGHTS_DIR)
    int8 = OnnxClassifier.from_quantized(name, DEFAULT_WEIGHTS_DIR)
    if int8 is None:
        return [f"- int8: {'`' + path.name + '` is older than these weights' if path.is_file() else 'none ships'}; "
                f"make it with `python -m trainer.quantize --model {name} --data fer2013.zip`"]
    x, y = data.select("public")
    probs = classifier_probs(int8, x, progress=f"{name}, int8")
    same = (probs.argmax(1) == PROBS[name, False].argmax(1)).mean()
    # The shipped calibration was fitted on the float model's outputs: how well it fits the int8 model's.
    calibration = int8.info.get("calibration")
    eces = [ece(y, apply_calibration(p, calibration)) for p in (probs, PROBS[name, False])]
    return [f"- int8 (`weights/{path.name}`, {path.stat().st_size / 2**20:.2f} MiB, made by `python -m trainer.quantize "
            f"--model {name} --data fer2013.zip`; what the app runs on a CPU; its weights in 7 bits, so that CPUs without "
            f"VNNI, AVX2 alone, compute it without overflow): PublicTest {(probs.argmax(1) == y).mean():.2%} "
            f"single crop, the same answer as the float model for {same:.2%} of faces; with the shipped calibration, "
            f"ECE on all of PublicTest {eces[0]:.3f} (float model: {eces[1]:.3f})"]


def calibration_lines(name: str) -> list[str]:
    """The calibration shipped with the weights, as ``python -m trainer.calibrate`` chose and checked it."""
    path = DOCS / f"{name}-calibration.json"
    if not path.is_file():
        return []
    sel = json.loads(path.read_text())["selection"]
    before, after = sel["check_before"], sel["check_after"]
    return [f"- Calibration (`python -m trainer.calibrate`): {sel['chosen']}, chosen on {sel['selection_faces']} "
            f"PublicTest faces and checked on the other {sel['check_faces']}: ECE {before['ece']:.3f} -> "
            f"{after['ece']:.3f}, NLL {before['nll']:.3f} -> {after['nll']:.3f}, Brier {before['brier']:.3f} -> "
            f"{after['brier']:.3f} (a perfectly calibrated model would show ECE "
            f"{sel['check_ece_if_perfectly_calibrated']:.3f} on these faces{other_halvings(sel)}); "
            f"{sel['check_argmax_moved']} answers "
            f"changed; reliability diagram: `docs/models/{name}-reliability.png`"]


def other_halvings(selection: dict) -> str:
    """The chosen method's held-out ECE over other halvings of PublicTest, in words; empty in an older record."""
    spread = selection.get("check_ece_other_halvings")
    if not spread:
        return ""
    return (f"; over {spread['halvings']} other halvings of PublicTest, {spread['mean']:.3f} on average, "
            f"{spread['min']:.3f} to {spread['max']:.3f}")


def trial_lines(name: str) -> list[str]:
    """The ablation: training tried for this model and not shipped, as ``benchmarks/trials.py`` measured it."""
    trials = [t for t in read_trials() if t["model"] == name]
    if not trials:
        return []
    return [f"- Tried and not shipped (`python benchmarks/trials.py`, each measured as `fer-desktop-eval` measures "
            "the shipped file):",
            *(f"  - {t['public_accuracy']:.2%} single crop: {t['what']}; made with `{shown(t['made_with'])}` "
              f"(measured {t['date']} on {t['machine']})" for t in trials)]


def robustness_lines(name: str) -> list[str]:
    """Accuracy under webcam conditions through the app's path (``benchmarks/robustness.py``), against the weights
    shipped before, where that run is kept."""
    now_path, before_path = RESULTS_DIR / f"robustness-{name}.json", RESULTS_DIR / f"robustness-{name}-before.json"
    if not now_path.is_file():
        return []
    now = json.loads(now_path.read_text())
    before = json.loads(before_path.read_text()) if before_path.is_file() else {"conditions": []}
    old = {(c["condition"], c["level"]): c for c in before["conditions"]}

    def cell(c: dict | None) -> str:
        if not c or c.get("accuracy") is None:
            return "-"
        drift = f"drift {c['drift']:.2f}{span(c, 'drift_95', 1, 2)} {c.get('drift_class', '')}".strip()
        return f"{c['accuracy']:.1%}{span(c, 'accuracy_95', 100, 1)} ({drift})"

    lines = ["### Under webcam conditions", "",
             f"`python benchmarks/robustness.py --data fer2013.zip --model {name}`: {now['limit']} PublicTest faces a "
             "condition placed in 640x480 frames, degraded, then detected, cropped and classified as the app does; "
             "accuracy over the faces found, and drift (the most over-answered class: its share of answers over its "
             "true share), each with its 95% bootstrap interval in brackets where the run kept one.", "",
             "| condition | level | found | before | shipped |", "| --- | --- | --- | --- | --- |"]
    for c in now["conditions"]:
        lines.append(f"| {c['condition']} | {c['level']} | {c['found']:.0%} | {cell(old.get((c['condition'], c['level'])))} "
                     f"| {cell(c)} |")
    ff = now.get("false_faces") or before.get("false_faces")  # the shipped weights' own run first
    if ff:
        lines += ["", f"False faces on {ff['frames']:,} face-free frames (scikit-image pictures and generated "
                  f"patterns, moving): {ff['reported_per_1000']:.1f} per 1,000 frames reported by the app, "
                  f"{ff['detected_per_1000']:.1f} boxed by BlazeFace alone."]
    return [*lines, ""]


def framing_lines(name: str) -> list[str]:
    """How far the app's face box wanders from the face and what that costs (``benchmarks/framing_jitter.py``)."""
    path = RESULTS_DIR / f"framing-jitter-{name}.json"
    if not path.is_file():
        return []
    r = json.loads(path.read_text())
    acc = r["accuracy"]
    return [f"`python benchmarks/framing_jitter.py --data fer2013.zip --model {name}`: on {r['found']} clean PublicTest "
            "faces placed in frames and found, the detector's box lies off the face's by a robust sigma of "
            f"{r['dx']['sigma']:.3f} (across) and {r['dy']['sigma']:.3f} (down) of its side, and its size varies by "
            f"{r['scale']['sigma']:.2f} (5-95%: {r['scale']['p5']:.2f}-{r['scale']['p95']:.2f}); crops from the box the "
            f"face was placed at are {acc['placed_box']:.1%} right, from the detector's box {acc['detector_box']:.1%}.",
            ""]


def speed_lines() -> list[str]:
    """The app's speed: the headless pipeline per model and face count, and batch analysis per worker count,
    as ``benchmarks/pipeline.py`` and ``benchmarks/batch.py`` last measured them (each names its machine)."""
    lines = ["## Speed", ""]
    pipeline_path, batch_path = RESULTS_DIR / "pipeline.json", RESULTS_DIR / "batch.json"
    if pipeline_path.is_file():
        pipeline = json.loads(pipeline_path.read_text())
        runs = {(r["model"], r["faces"]): r for r in pipeline["runs"] if r.get("weights") == "trained"}
        counts = sorted({faces for _, faces in runs})
        lines += [f"Headless pipeline, `python benchmarks/pipeline.py`: {pipeline['frames']} frames of "
                  f"{pipeline['frame_size'][0]}x{pipeline['frame_size'][1]} MJPG video, every frame analysed (detection, "
                  f"face check, crop, model); results per second, and the median time from a frame read to its "
                  f"result with one face, on {describe_machine(pipeline['machine'])}.", "",
                  "| model | " + " | ".join(f"{n} face{'s' * (n > 1)}" for n in counts) + " | frame to result | runs on |",
                  "| --- |" + " --- |" * (len(counts) + 2)]
        for model in MODEL_NAMES:
            if (model, counts[0]) in runs:
                cells = [f"{runs[model, n]['fps']:.0f} fps" if (model, n) in runs else "-" for n in counts]
                lines.append(f"| {model} | " + " | ".join(cells)
                             + f" | {runs[model, counts[0]]['latency_ms']['total']['p50']:.1f} ms"
                             + f" | {runs[model, counts[0]]['backend']} |")
        lines.append("")
    if batch_path.is_file():
        batch = json.loads(batch_path.read_text())
        lines += [f"Batch analysis, `python benchmarks/batch.py`: `fer-desktop-batch` on {batch['clips']} clips of "
                  f"{batch['frames_per_clip']} frames (one face, SqueezeNet), whole command from launch to exit and "
                  f"steady state (start-up left out), median of the runs, on {describe_machine(batch['machine'])}.", "",
                  "| workers | videos/min | fps | speed-up | steady speed-up |", "| --- | --- | --- | --- | --- |"]
        one = batch["median"]["1"]
        for workers, m in sorted(batch["median"].items(), key=lambda kv: int(kv[0])):
            lines.append(f"| {workers} | {m['videos_per_min']:.1f} | {m['fps']:.0f} | "
                         f"{m['videos_per_min'] / one['videos_per_min']:.2f}x | "
                         f"{m['steady_videos_per_min'] / one['steady_videos_per_min']:.2f}x |")
        lines.append("")
    return lines if len(lines) > 2 else []


def card(name: str, data, inference: dict, host: str) -> str:
    """``host``: the machine of the inference figures."""
    path = weights_path(name)
    model, spec, info = load_model(path)
    single, ten = measure(name, model, spec, data)
    lines = [
        f"## {name}",
        "",
        f"- Architecture: `{name}` ({count_parameters(model) / 1e6:.2f} M parameters), input {spec.input_size}x{spec.input_size} "
        f"centre crop of the 48x48 face, mean {spec.mean}, std {spec.std}",
        f"- File: `weights/{path.name}`, {path.stat().st_size / 2**20:.2f} MiB (fp16 safetensors with metadata)",
        f"- Trained with: `{shown(info.get('command'))}`",
        training_line(info),
        *soup_lines(info),
        *batchnorm_line(info),
        *started_from(info),
        *trial_lines(name),
        *results(name, single, ten, inference, host, data),
        *curves(name, info),
        *robustness_lines(name),
        *framing_lines(name),
    ]
    return "\n".join(lines)


def further_member_lines(member: str, data) -> list[str]:
    """A fusion's member that no section of its own cards (``vgg19-2``): its file, training and accuracy alone."""
    path = member_path(member, DEFAULT_WEIGHTS_DIR)
    model, spec, info = load_model(path)
    x, y = data.select("public")
    # Both passes are kept, so that the fusion's own are the weighted mean of its members' (measure).
    PROBS[member, False] = predict_probs(model, spec, x, progress=f"{member}, single crop")
    PROBS[member, True] = predict_probs(model, spec, x, tta=True, progress=f"{member}, ten-crop")
    acc = classification_metrics(y, PROBS[member, False])["accuracy"]
    return [f"- Member `{member}`: `{info['architecture']}` weights trained apart from the card's own "
            f"`{info['architecture']}`; `weights/{path.name}`, {path.stat().st_size / 2**20:.2f} MiB; "
            f"PublicTest {acc:.2%} single crop alone",
            *(f"  {line}" for line in [f"- Trained with: `{shown(info.get('command'))}`", training_line(info),
                                       *soup_lines(info), *batchnorm_line(info), *started_from(info)])]


def ensemble_card(name: str, data, inference: dict, host: str) -> str:
    """The fusion of the shipped members: its weights, size and the same measurements."""
    path = weights_path(name)
    model, spec, info = load_ensemble(path)
    members = info["members"]
    further = [m for m in members if m not in MODEL_NAMES]
    further_lines = [line for m in further for line in further_member_lines(m, data)]
    single, ten = measure(name, model, spec, data)
    size = sum(f.stat().st_size for f in files_read(name)[1:]) / 2**20
    fused_with = (f"`fer-desktop-train --model {name} --data fer2013.zip --out RUNS`, which finds the finished "
                  "member runs in RUNS" if not further else
                  f"`python -m trainer.fuse --data fer2013.zip --out DIR {' '.join(f'{m}=FILE' for m in members)}`")
    lines = [
        f"## {name}",
        "",
        "- Architecture: the average of its members' probabilities, weighted "
        + " + ".join(f"{w:.2f} x `{m}`" for m, w in members.items())
        + f" ({count_parameters(model) / 1e6:.2f} M parameters in all); "
        + ("the members are the files carded above" if not further else "members not carded above:"),
        *further_lines,
        f"- File: `weights/{path.name}` (the fusion weights), reading the members' files: {size:.2f} MiB in all",
        f"- Fused with: {fused_with}; the fusion weights (steps of 0.05) are picked by single-crop PublicTest accuracy",
        *trial_lines(name),
        *results(name, single, ten, inference, host, data),
        *robustness_lines(name),
    ]
    return "\n".join(lines)


def card_sections(text: str) -> dict[str, str]:
    """The card's ``## NAME`` sections by name, each up to the next one (blank lines at its end dropped)."""
    sections: dict[str, str] = {}
    name = None
    for line in text.splitlines():
        if line.startswith("## "):
            name = line[3:].strip().lower()
            sections[name] = line
        elif name is not None:
            sections[name] += "\n" + line
    return {k: v.rstrip("\n") for k, v in sections.items()}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", required=True, help="FER-2013 (Kaggle folder, .zip or fer2013.csv)")
    p.add_argument("--inference", type=Path, default=RESULTS_DIR / "inference.json")
    p.add_argument("--only", nargs="+", choices=[*MODEL_NAMES, "speed"], metavar="SECTION",
                   help="rewrite only these sections (model names, or speed); keep the others as the card has them")
    args = p.parse_args(argv)
    card_path = DEFAULT_WEIGHTS_DIR / "README.md"
    kept = card_sections(card_path.read_text()) if args.only and card_path.is_file() else {}
    redo = set(args.only or [*MODEL_NAMES, "speed"])
    data = load_fer(args.data)
    inference = json.loads(args.inference.read_text()) if args.inference.is_file() else {}
    host = describe_machine(inference.get("machine") or machine())
    shipped = [n for n in MODEL_NAMES if weights_path(n).is_file()]
    missing = [n for n in MODEL_NAMES if n not in shipped]
    sections = [kept[n] + "\n" if n not in redo and n in kept
                else ensemble_card(n, data, inference, host) if get_model(n).is_fusion
                else card(n, data, inference, host)
                for n in shipped]
    speed = speed_lines() if "speed" in redo or "speed" not in kept else [kept["speed"], ""]
    text = [
        "# Model card: the shipped weights",
        "",
        "Written by `python benchmarks/model_card.py --data fer2013.zip`; every accuracy here is",
        "measured from the shipped file and reproduced by",
        "`fer-desktop-eval --model NAME --data fer2013.zip --split public [--tta]`.",
        "Selection used PublicTest only; the PrivateTest half is measured independently.",
        "",
        *sections,
        *speed,
    ]
    if missing:
        text += ["## Not shipped yet", "", *[f"- `{n}`: no trained weights in this folder yet; train with "
                                             f"`fer-desktop-train --model {n} --data fer2013.zip`" for n in missing], ""]
    card_path.write_text("\n".join(text))
    print(f"wrote {card_path}: measured {', '.join(n for n in [*shipped, 'speed'] if n in redo) or 'nothing'}",
          file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
