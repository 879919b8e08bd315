"""The README stays short, shows no machine's folders, and quotes the model card's figures exactly."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from fer_desktop.weights import weights_path

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()
MODEL_CARD = ROOT / "weights" / "README.md"
MACHINE_PATH = re.compile(r"(?<![\w.])(/work/|/root/|/home/[\w.-]+/|/Users/[\w.-]+/|/tmp/|/mnt/|/data/)")
MIB = 1024 * 1024


def readme_section(title: str) -> str:
    return README.split(f"\n## {title}\n", 1)[1].split("\n## ", 1)[0]


def table_rows(text: str) -> dict[str, dict[str, str]]:
    lines = [line for line in text.splitlines() if line.startswith("|")]
    header = [cell.strip() for cell in lines[0].strip("|").split("|")]
    rows = [[cell.strip() for cell in line.strip("|").split("|")] for line in lines[2:]]
    return {row[0].lower(): dict(zip(header, row)) for row in rows}


def card_figures(name: str) -> dict[str, str]:
    section = MODEL_CARD.read_text().split(f"\n## {name}\n", 1)[1].split("\n## ", 1)[0]
    int8 = re.search(r"^- int8 \(`weights/[^`]+`.*?\): PublicTest (\d+\.\d+%)", section, re.MULTILINE)
    return {
        "PublicTest": re.search(r"PublicTest \(\d+ faces\): \*\*(\d+\.\d+%) single crop\*\*", section)[1],
        "int8": int8[1] if int8 else "-",
        # The first backend the latency line names is what the app runs on a CPU: int8 where it ships.
        "CPU latency": re.search(r"ONNX Runtime (?:int8|float), 2 threads[^:]*: (\d+\.\d+ ms) at batch 1", section)[1],
        "size": re.search(r"(\d+\.\d+ MiB)", section)[1],
    }


def test_the_readme_is_read_in_five_minutes() -> None:
    assert len(README.splitlines()) <= 250


def test_ci_runs_exactly_the_readme_test_command() -> None:
    setup = readme_section("Set up")
    commands = [line.split("  #")[0].strip() for line in setup.split("```bash\n", 1)[1].split("```")[0].splitlines()]
    ci = (ROOT / ".ci" / "run").read_text().strip().splitlines()[-1]
    assert ci in commands and "--test" in ci


@pytest.mark.parametrize("doc", sorted(p.relative_to(ROOT).as_posix() for p in [ROOT / "README.md", *ROOT.glob("docs/**/*.md"),
                                                                                 *ROOT.glob("assets/*.md")]))
def test_no_doc_shows_a_machine_folder(doc: str) -> None:
    assert not MACHINE_PATH.findall((ROOT / doc).read_text()), doc


def test_the_model_card_shows_no_machine_folder() -> None:
    assert not MACHINE_PATH.findall(MODEL_CARD.read_text())


@pytest.mark.parametrize("name", ["squeezenet", "resnet18", "vgg19", "ensemble"])
def test_the_models_table_agrees_with_the_model_card_and_the_files(name: str) -> None:
    row = table_rows(readme_section("Models"))[name]
    card = card_figures(name)
    assert {key: row[key] for key in card} == card
    files = [weights_path(name, ROOT / "weights")]
    if name == "ensemble":
        files = [ROOT / "weights" / f"{member}.safetensors" for member in ("resnet18", "vgg19")]
    assert row["size"] == f"{sum(f.stat().st_size for f in files) / MIB:.2f} MiB"


def test_the_readme_lists_the_window_keys() -> None:
    from fer_desktop.ui.controls import KEYS

    line = next(line for line in readme_section("Using the window").split("\n- ") if line.startswith("**Keys**"))
    assert sorted(re.findall(r"(?:Ctrl\+\w|F\d+)", line)) == sorted(KEYS.values())


def test_the_model_card_shows_commands_with_folders_relative_to_the_repository() -> None:
    import sys

    sys.path.insert(0, str(ROOT / "benchmarks"))
    from model_card import ROOT as CARD_ROOT, shown

    command = (f"fer-desktop-train --model vgg19 --data /home/someone/shared/data/fer2013.zip --out /srv/x/runs/vgg19-r6 "
               f"--init {CARD_ROOT / 'weights' / 'vgg19.safetensors'}")
    assert shown(command) == ("fer-desktop-train --model vgg19 --data data/fer2013.zip --out runs/vgg19-r6 "
                              "--init weights/vgg19.safetensors")
    assert not MACHINE_PATH.findall(shown(command))


def test_the_model_card_splits_into_the_sections_that_model_card_only_rewrites() -> None:
    import sys

    from fer_desktop.models import MODEL_NAMES

    sys.path.insert(0, str(ROOT / "benchmarks"))
    from model_card import card_sections

    text = MODEL_CARD.read_text()
    sections = card_sections(text)
    assert list(sections) == [n for n in MODEL_NAMES if weights_path(n).is_file()] + ["speed"]
    for name, section in sections.items():  # kept sections go back unchanged
        assert section.lower().startswith(f"## {name}\n") and section + "\n" in text + "\n"


def card_speed_rows() -> dict[str, list[str]]:
    """The model card's Speed tables, row by first cell: the pipeline per model, batch analysis per worker count."""
    section = MODEL_CARD.read_text().split("\n## Speed\n", 1)[1].split("\n## ", 1)[0]
    rows = [[c.strip() for c in line.strip("|").split("|")] for line in section.splitlines() if line.startswith("| ")]
    return {row[0]: row[1:] for row in rows if row[0] not in ("model", "workers")}


def test_the_speed_section_quotes_the_model_card() -> None:
    rows, speed = card_speed_rows(), " ".join(readme_section("Speed").split())  # line breaks aside
    assert f"{rows['squeezenet'][0]} with SqueezeNet" in speed and f"{rows['ensemble'][0]} with the ensemble" in speed
    one, two = rows["1"], rows["2"]
    assert f"{one[0]} videos a minute with one worker and {two[0]} with two ({two[2]}" in speed
