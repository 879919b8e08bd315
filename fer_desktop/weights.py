"""Reading and writing the shipped weights: fp16 safetensors with a metadata record.

A weights file describes itself (architecture, input spec, class order, what it
was trained on and how well it did), so loading needs nothing else. The
ensemble is a small JSON file naming its members' fusion weights. Reading the
metadata needs no PyTorch; loading a network imports it.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from safetensors import SafetensorError, safe_open

from fer_desktop.emotions import EMOTIONS
from fer_desktop.models import ARCHITECTURES, MODEL_NAMES, SPECS, ModelSpec, create_model, get_model
from fer_desktop.models import registry
from fer_desktop.resources import WEIGHTS_DIR

if TYPE_CHECKING:
    import torch
    from torch import nn

FORMAT = "fer-desktop-weights/1"
DEFAULT_WEIGHTS_DIR = WEIGHTS_DIR


class WeightsError(RuntimeError):
    """A weights file is missing, unreadable or not ours; the message names it."""


def weights_path(name: str, weights_dir: Path = DEFAULT_WEIGHTS_DIR) -> Path:
    """Where a registered model's weights file lies in ``weights_dir``."""
    return registry.weights_path(name, weights_dir)


def member_architecture(member: str) -> str | None:
    """The architecture a fusion member's name declares (``vgg19`` for ``vgg19`` and ``vgg19-2``); None if none."""
    arch, dash, tag = member.partition("-")
    if arch not in ARCHITECTURES or (dash and not re.fullmatch(r"[a-z0-9]+", tag)):
        return None
    return arch


def member_path(member: str, folder: Path) -> Path:
    """Where a fusion's member lies: ``MEMBER.safetensors`` beside the fusion's JSON."""
    return Path(folder) / f"{member}.safetensors"


def files_read(name: str, weights_dir: Path = DEFAULT_WEIGHTS_DIR) -> list[Path]:
    """Every file a registered model reads: its own and, for a fusion, the members its JSON names.

    A fusion whose JSON is missing, unreadable or names no member files gives the files of its
    registered members, the ones ``fer-desktop-train --model NAME`` writes (loading it names what
    is wrong with the JSON).
    """
    entry = get_model(name)
    path = weights_path(name, weights_dir)
    if not entry.is_fusion:
        return [path]
    try:
        members = list(json.loads(path.read_text())["members"])
    except (OSError, ValueError, KeyError, TypeError, UnicodeDecodeError):
        members = []
    if not members or not all(isinstance(m, str) and member_architecture(m) for m in members):
        members = list(entry.members)
    return [path, *(member_path(m, path.parent) for m in members)]


def _retrain_hint(name: str) -> str:
    if name not in MODEL_NAMES:
        return f"name the weights of one of the models ({', '.join(MODEL_NAMES)}), or train one with fer-desktop-train"
    return f"retrain it with `fer-desktop-train --model {name} --data PATH`"


def save_weights(path: Path, arch: str, state_dict: dict[str, torch.Tensor], info: dict[str, Any]) -> None:
    """Write fp16 weights and their metadata atomically (a crash leaves the old file)."""
    import torch
    from safetensors.torch import save_file

    from fer_desktop.export.files import replace_atomically

    tensors = {
        k: (v.detach().to("cpu", torch.float16) if v.is_floating_point() else v.detach().cpu()).contiguous()
        for k, v in state_dict.items()
    }
    meta = {"format": FORMAT, "architecture": arch, "spec": SPECS[arch].to_dict(), "classes": list(EMOTIONS), **info}
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with replace_atomically(path) as tmp:
        try:
            save_file(tensors, str(tmp), metadata={k: json.dumps(v) for k, v in meta.items()})
        except SafetensorError as e:  # how safetensors reports a full disk
            raise OSError(f"{path}: cannot be written ({e})") from None
        _as_umask_allows(tmp)


def _as_umask_allows(path: Path) -> None:
    """Give ``path`` the mode a newly created file gets (safetensors creates its files 0600)."""
    mask = os.umask(0)  # the only way to read it; the trainer writes weights from one thread
    os.umask(mask)
    os.chmod(path, 0o666 & ~mask)


def update_weights(path: Path, info: dict[str, Any], state_dict: dict[str, torch.Tensor] | None = None) -> None:
    """Rewrite a weights file with ``info`` added to its record and, given them, new tensors."""
    from safetensors.torch import load_file

    meta = read_info(path)
    save_weights(path, meta["architecture"], load_file(str(path)) if state_dict is None else state_dict,
                 {**run_record(meta), **info})


def run_record(meta: dict[str, Any]) -> dict[str, Any]:
    """A file's metadata less what save_weights writes anew (format, architecture, spec, classes)."""
    return {k: v for k, v in meta.items() if k not in ("format", "architecture", "spec", "classes")}


def read_info(path: Path) -> dict[str, Any]:
    """The metadata record of a weights file, checked to be ours."""
    path = Path(path)
    if not path.is_file():
        raise WeightsError(f"{path}: weights file not found; {_retrain_hint(path.stem)}")
    try:
        with safe_open(str(path), framework="numpy") as f:
            raw = f.metadata() or {}
    except (SafetensorError, OSError) as e:
        raise WeightsError(f"{path}: unreadable weights file (truncated or corrupt: {e}); {_retrain_hint(path.stem)}")
    try:
        meta = {k: json.loads(v) for k, v in raw.items()}
    except ValueError:
        meta = {}  # plain-text metadata, as other tools write ({"format": "pt"}): a sound file, but not ours
    if meta.get("format") != FORMAT or meta.get("architecture") not in ARCHITECTURES:
        raise WeightsError(f"{path}: not a fer-desktop weights file (no '{FORMAT}' metadata)")
    if meta.get("classes") != list(EMOTIONS):
        raise WeightsError(f"{path}: trained for classes {meta.get('classes')}, expected {list(EMOTIONS)}")
    return meta


def load_model(path: Path, expected: str | None = None) -> tuple[nn.Module, ModelSpec, dict[str, Any]]:
    """One architecture from its weights file, in eval mode and fp32; ``expected`` is the architecture asked for."""
    meta = read_info(path)
    arch = meta["architecture"]
    if expected is not None and arch != expected:
        raise WeightsError(f"{path}: holds {arch} weights, not {expected}; {_retrain_hint(expected)}")
    from safetensors.torch import load_file

    try:
        state = load_file(str(path))
    except (SafetensorError, OSError) as e:
        raise WeightsError(f"{path}: unreadable weights file (truncated or corrupt: {e}); {_retrain_hint(arch)}")
    model = create_model(arch)
    try:
        model.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in state.items()})
    except RuntimeError as e:
        raise WeightsError(f"{path}: weights do not fit the {arch} architecture ({str(e).splitlines()[0]})")
    return model.eval(), ModelSpec(**meta["spec"]), meta


def save_ensemble(path: Path, member_weights: dict[str, float], info: dict[str, Any]) -> None:
    from fer_desktop.export.files import write_json

    write_json(path, {"format": FORMAT, "members": member_weights, **info})


def _is_weight(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value >= 0


def load_ensemble(path: Path) -> tuple[nn.Module, ModelSpec, dict[str, Any]]:
    """The ensemble and its members, whose files lie beside its JSON."""
    path = Path(path)
    if not path.is_file():
        raise WeightsError(f"{path}: ensemble file not found; {_retrain_hint(path.stem)}")
    try:
        meta = json.loads(path.read_text())
        members = dict(meta["members"])
    except (ValueError, KeyError, TypeError, AttributeError, UnicodeDecodeError) as e:
        raise WeightsError(f"{path}: not a fer-desktop ensemble file (expected JSON with \"members\": "
                           f"{{member: fusion weight}}; {type(e).__name__}: {e}); {_retrain_hint(path.stem)}")
    if not all(member_architecture(m) and _is_weight(w) for m, w in members.items()) or not sum(members.values()):
        raise WeightsError(f"{path}: \"members\" must map member files, each named by its architecture "
                           f"({', '.join(ARCHITECTURES)}) with an optional tag such as vgg19-2, to fusion "
                           f"weights of 0 or more, not all 0; found {members!r}; {_retrain_hint(path.stem)}")
    models, specs = [], []
    for name in members:
        try:
            model, spec, _ = load_model(member_path(name, path.parent), member_architecture(name))
        except WeightsError as e:
            raise WeightsError(f"{path} names the member {name}: {e}") from None
        models.append(model)
        specs.append(spec)
    if len({(s.input_size, s.mean, s.std) for s in specs}) != 1:
        raise WeightsError(f"{path}: ensemble members disagree on their input; retrain them with one spec")
    from fer_desktop.models.ensemble import Ensemble

    return Ensemble(models, list(members.values())).eval(), specs[0], meta


def load_named(name: str, weights_dir: Path = DEFAULT_WEIGHTS_DIR) -> tuple[nn.Module, ModelSpec, dict[str, Any]]:
    """A model by its user-facing name (any registry entry, a fusion too)."""
    path = weights_path(name, weights_dir)
    return load_ensemble(path) if get_model(name).is_fusion else load_model(path, name)


__all__ = [
    "DEFAULT_WEIGHTS_DIR", "WeightsError", "files_read", "load_ensemble", "load_model",
    "load_named", "member_architecture", "member_path", "read_info", "run_record", "save_ensemble", "save_weights",
    "update_weights", "weights_path",
]
