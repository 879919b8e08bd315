"""fer-desktop-report on generated recordings: the figures it summarises, its files, its errors, its memory."""

from __future__ import annotations

import json
import sys
import tracemalloc
from pathlib import Path

import numpy as np
import pytest

from fer_desktop.report.cli import main
from fer_desktop.report import summary as summary_module
from fer_desktop.report.summary import summarise

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
from report_speed import write_session_csv  # noqa: E402


def faces_of(summary: dict) -> dict[str, dict]:
    return {f["face_id"]: f for f in summary["faces"]}


def test_summary_of_a_generated_recording(tmp_path: Path) -> None:
    csv_path = tmp_path / "session.csv"
    write_session_csv(csv_path, seconds=60, fps=10)
    assert main([str(csv_path), "--out", str(tmp_path / "report")]) == 0
    summary = json.loads((tmp_path / "report" / "summary.json").read_text())
    assert summary["rows"] == 1800 and summary["uncertain_from"] == "confident column"
    faces = faces_of(summary)
    assert set(faces) == {"1", "2", "3"}
    first = faces["1"]
    # Face 1 shows angry, then disgust, then fear, 20 s each: two changes, a third of the time each.
    assert first["seconds_seen"] == pytest.approx(60, abs=0.01)
    assert first["changes"] == 2
    assert [first["share_of_time"][e] for e in ("angry", "disgust", "fear")] == pytest.approx([1 / 3] * 3, abs=0.01)
    assert first["dominant"] in ("angry", "disgust", "fear")
    assert first["mean_confidence"] == pytest.approx(0.7, abs=1e-3)
    assert first["uncertain_share"] == 0.0 and faces["3"]["uncertain_share"] == 1.0
    assert first["quality_hint_share"] == {} and faces["2"]["quality_hint_share"] == {"too small": 1.0}
    html = (tmp_path / "report" / "report.html").read_text()
    assert html.count("data:image/png;base64,") == 6  # a timeline and a distribution per face, inlined
    assert 'src="face-' not in html
    for face_id in "123":
        assert (tmp_path / "report" / f"face-{face_id}-timeline.png").read_bytes()[:4] == b"\x89PNG"


def test_recording_without_the_extra_columns(tmp_path: Path) -> None:
    csv_path = tmp_path / "old.csv"
    write_session_csv(csv_path, seconds=30, fps=5, extra=False)
    summary = summarise(csv_path, uncertain_below=0.5).to_dict()
    assert summary["uncertain_from"] == "confidence below 0.5"
    faces = faces_of(summary)
    assert faces["3"]["uncertain_share"] == 1.0 and faces["1"]["uncertain_share"] == 0.0
    assert faces["1"]["quality_hint_share"] is None
    assert summarise(csv_path, uncertain_below=0.8).to_dict()["faces"][0]["uncertain_share"] == 1.0


def test_memory_does_not_grow_with_the_recording(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(summary_module, "CHUNK_ROWS", 500)  # both recordings span many chunks
    peaks = []
    for seconds in (30, 300):
        csv_path = tmp_path / f"{seconds}.csv"
        write_session_csv(csv_path, seconds=seconds, fps=30)
        tracemalloc.start()
        summary = summarise(csv_path, 0.5)
        peaks.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
        assert summary.rows == seconds * 30 * 3
    assert peaks[1] < peaks[0] * 1.5 + 200_000, peaks  # ten times the rows, about the same memory


def write_brief_faces(path: Path, faces: int, rows_each: int = 5) -> None:
    """A recording of ``faces`` faces one after another, each seen for ``rows_each`` rows (a busy street)."""
    import csv

    from fer_desktop.emotions import EMOTIONS
    from fer_desktop.export import CSV_COLUMNS

    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(CSV_COLUMNS)
        for k in range(faces):
            for r in range(rows_each):
                row = {"time_s": f"{k + r / 10:.3f}", "face_id": k + 1, **{e: "0.1429" for e in EMOTIONS},
                       "confidence": "0.1429"}
                writer.writerow([row.get(c, "") for c in CSV_COLUMNS])


def test_memory_per_face_is_about_its_rows_not_a_whole_timeline(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(summary_module, "CHUNK_ROWS", 500)
    peaks = []
    for faces in (500, 1500):
        write_brief_faces(tmp_path / f"{faces}.csv", faces)
        tracemalloc.start()
        summary = summarise(tmp_path / f"{faces}.csv", 0.5)
        peaks.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
        assert len(summary.faces) == faces
    assert (peaks[1] - peaks[0]) / 1000 < 4096, peaks  # a face's 512 timeline bins would be 32 KiB


def test_the_timeline_keeps_the_means_of_its_bins_however_the_rows_come() -> None:
    rng = np.random.default_rng(0)
    times = np.concatenate([rng.uniform(900, 1000, 300), rng.uniform(0, 5000, 300)])  # late first, then anywhere
    probs = rng.dirichlet(np.ones(7), len(times))
    timeline = summary_module.Timeline(bins=64)
    for part in np.array_split(np.arange(len(times)), 7):
        timeline.add(times[part], probs[part])
    centres, means = timeline.series()
    width = timeline.width_s
    assert 5000 / width <= 64 and width == summary_module.FIRST_BIN_S * 2 ** 9  # the narrowest that fits
    bins = times // width
    assert np.allclose(centres, (np.unique(bins) + 0.5) * width)
    assert np.allclose(means, [probs[bins == b].mean(0) for b in np.unique(bins)])

def test_errors_name_the_file_and_overwrite_nothing(tmp_path: Path, capsys) -> None:
    not_ours = tmp_path / "other.csv"
    not_ours.write_text("a,b\n1,2\n")
    assert main([str(not_ours), "--out", str(tmp_path / "r")]) == 1
    assert "not a fer-desktop recording" in capsys.readouterr().err
    csv_path = tmp_path / "s.csv"
    write_session_csv(csv_path, seconds=2, fps=5)
    lines = csv_path.read_text().splitlines()
    lines[3] = lines[3].replace("squeezenet", "squeezenet").replace(lines[3].split(",")[7], "oops", 1)
    csv_path.write_text("\n".join(lines) + "\n")
    assert main([str(csv_path), "--out", str(tmp_path / "r")]) == 1
    assert "line 4: angry is 'oops', not a number" in capsys.readouterr().err
    write_session_csv(csv_path, seconds=2, fps=5)
    out = tmp_path / "mine"
    out.mkdir()
    (out / "report.html").write_text("the user's own page")
    assert main([str(csv_path), "--out", str(out)]) == 2
    assert "report.html exists" in capsys.readouterr().err
    assert (out / "report.html").read_text() == "the user's own page"
    assert main([str(csv_path), "--out", str(out), "--overwrite"]) == 0


@pytest.mark.parametrize("under", ["", "report"])
def test_an_out_that_is_a_file_or_lies_under_one_is_one_sentence(tmp_path: Path, capsys, under: str) -> None:
    csv_path = tmp_path / "s.csv"
    write_session_csv(csv_path, seconds=2, fps=5)
    out = csv_path / under if under else csv_path  # the recording itself, or a folder inside it
    with pytest.raises(SystemExit) as stopped:
        main([str(csv_path), "--out", str(out)])
    err = capsys.readouterr().err
    assert stopped.value.code == 2 and f"--out {out}: {csv_path} is a file; give the folder for the report" in err
    assert "Errno" not in err and csv_path.read_text().startswith("time_s,")


def test_a_recording_cut_short_mid_row_is_reported_without_its_last_row(tmp_path: Path, capsys) -> None:
    csv_path = tmp_path / "cut.csv"
    write_session_csv(csv_path, seconds=2, fps=5)
    text = csv_path.read_text()
    rows = len(text.splitlines()) - 1
    csv_path.write_text(text[:-40])  # a copy taken, or a recording killed, in the middle of its last row
    assert main([str(csv_path), "--out", str(tmp_path / "r")]) == 0
    summary = json.loads((tmp_path / "r" / "summary.json").read_text())
    assert summary["rows"] == rows - 1 and summary["rows_cut_short"] == 1
    assert "the last cut short and left out" in (tmp_path / "r" / "report.html").read_text()

    lines = text.splitlines()
    lines[4] = ",".join(lines[4].split(",")[:5])  # a short row that is not the last: the file was edited
    csv_path.write_text("\n".join(lines) + "\n")
    assert main([str(csv_path), "--out", str(tmp_path / "r2")]) == 1
    err = capsys.readouterr().err
    assert f"{csv_path} line 5: 5 fields where the header has" in err and "Traceback" not in err


def test_a_spreadsheets_byte_order_mark_is_read_and_binary_is_not_a_recording(tmp_path: Path, capsys) -> None:
    csv_path = tmp_path / "s.csv"
    write_session_csv(csv_path, seconds=2, fps=5)
    bom = tmp_path / "bom.csv"
    bom.write_text(csv_path.read_text(), encoding="utf-8-sig")  # what "CSV UTF-8" in a spreadsheet saves
    assert main([str(bom), "--out", str(tmp_path / "r")]) == 0
    assert json.loads((tmp_path / "r" / "summary.json").read_text())["rows"] == len(csv_path.read_text().splitlines()) - 1
    binary = tmp_path / "b.csv"
    binary.write_bytes(bytes(range(256)) * 8)
    assert main([str(binary), "--out", str(tmp_path / "r3")]) == 1
    err = capsys.readouterr().err
    assert "not a fer-desktop recording (not UTF-8 text)" in err and "Traceback" not in err
    assert not (tmp_path / "r3").exists()


@pytest.mark.parametrize("column, value", [("time_s", "inf"), ("happy", "nan"), ("confidence", "-inf")])
def test_a_value_that_is_not_a_finite_number_names_its_line(column: str, value: str, tmp_path: Path,
                                                            capsys) -> None:
    import csv

    csv_path = tmp_path / "s.csv"
    write_session_csv(csv_path, seconds=2, fps=5)
    with open(csv_path, newline="") as f:
        table = list(csv.reader(f))
    table[3][table[0].index(column)] = value  # an edit: float() reads it, and every total it reaches turns NaN
    with open(csv_path, "w", newline="") as f:
        csv.writer(f).writerows(table)
    assert main([str(csv_path), "--out", str(tmp_path / "r")]) == 1
    err = capsys.readouterr().err
    assert f"{csv_path} line 4: {column} is '{value}', not a finite number" in err and "Traceback" not in err
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize("stop", ["plain", "inside an import"])
def test_ctrl_c_is_one_line_and_130(stop: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    import fer_desktop.report.cli as cli

    def interrupted(*args: object) -> None:
        if stop == "plain":
            raise KeyboardInterrupt
        try:
            raise KeyboardInterrupt
        except KeyboardInterrupt as e:  # as a compiled module's import reports a Ctrl-C that lands in it
            raise ImportError("numpy.core.multiarray failed to import") from e

    csv_path = tmp_path / "s.csv"
    write_session_csv(csv_path, seconds=2, fps=5)
    monkeypatch.setattr(cli, "summarise", interrupted)
    assert main([str(csv_path), "--out", str(tmp_path / "r")]) == 130
    err = capsys.readouterr().err
    assert err == "fer-desktop-report: interrupted\n" and not (tmp_path / "r").exists()


def test_overwriting_an_earlier_report_leaves_none_of_its_figures_behind(tmp_path: Path) -> None:
    import csv

    three, one = tmp_path / "three.csv", tmp_path / "one.csv"
    write_session_csv(three, seconds=2, fps=5)
    with open(three, newline="") as f:
        table = list(csv.reader(f))
    with open(one, "w", newline="") as f:
        csv.writer(f).writerows([table[0], *(row for row in table[1:] if row[2] == "1")])
    out = tmp_path / "report"
    assert main([str(three), "--out", str(out)]) == 0
    (out / "notes.txt").write_text("the user's own")
    assert main([str(one), "--out", str(out), "--overwrite"]) == 0
    assert sorted(p.name for p in out.iterdir()) == [
        "face-1-distribution.png", "face-1-timeline.png", "notes.txt", "report.html", "summary.json"]


def test_a_summary_json_that_is_not_a_reports_is_never_replaced(tmp_path: Path, capsys) -> None:
    csv_path = tmp_path / "s.csv"
    write_session_csv(csv_path, seconds=2, fps=5)
    headless = tmp_path / "summary.json"  # fer-desktop --headless --csv s.csv --summary summary.json
    headless.write_text('{"frames": 10, "complete": true}\n')
    assert main([str(csv_path), "--out", str(tmp_path), "--overwrite"]) == 2
    err = capsys.readouterr().err
    assert f"{headless} exists and is not the summary of a report" in err and err.count("\n") == 1
    assert headless.read_text() == '{"frames": 10, "complete": true}\n'
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.csv", "summary.json"]


def test_blank_lines_a_spreadsheet_leaves_are_no_rows_and_errors_name_the_real_line(tmp_path: Path, capsys) -> None:
    csv_path = tmp_path / "s.csv"
    write_session_csv(csv_path, seconds=2, fps=5)
    lines = csv_path.read_text().splitlines()
    rows = len(lines) - 1
    spaced = tmp_path / "spaced.csv"
    spaced.write_text("\n".join([*lines[:5], "", ",,,,", *lines[5:], "", ""]) + "\n")
    assert main([str(spaced), "--out", str(tmp_path / "r")]) == 0
    summary = json.loads((tmp_path / "r" / "summary.json").read_text())
    assert summary["rows"] == rows and summary["rows_cut_short"] == 0 and summary["rows_without_model"] == 0
    lines[9] = lines[9].replace(lines[9].split(",")[7], "oops", 1)
    spaced.write_text("\n".join([*lines[:5], "", *lines[5:]]) + "\n")
    assert main([str(spaced), "--out", str(tmp_path / "r2")]) == 1
    assert "spaced.csv line 11: angry is 'oops', not a number" in capsys.readouterr().err


def _as_spreadsheet_saves(table: list[list[str]], variant: str, path: Path) -> None:
    import csv

    with open(path, "w", newline="", encoding="utf-8") as f:
        if variant == "semicolons, decimal commas":  # "CSV" in a language whose decimal mark is a comma
            csv.writer(f, delimiter=";").writerows([[v.replace(".", ",") for v in row] for row in table])
        elif variant == "tabs":  # "Text (tab delimited)"
            csv.writer(f, delimiter="\t").writerows(table)
        elif variant == "a space after each comma":  # typed or tidied by hand
            f.write("".join(", ".join(row) + "\n" for row in table))
        else:  # every value quoted, the columns reversed and one added in front
            csv.writer(f, quoting=csv.QUOTE_ALL).writerows([["note", *row[::-1]] for row in table])


@pytest.mark.parametrize("variant", ["semicolons, decimal commas", "tabs", "a space after each comma",
                                     "quoted, reordered, one more column"])
def test_a_recording_saved_again_by_a_spreadsheet_gives_the_same_report(variant: str, tmp_path: Path) -> None:
    import csv

    csv_path = tmp_path / "s.csv"
    write_session_csv(csv_path, seconds=4, fps=5)
    with open(csv_path, newline="") as f:
        table = list(csv.reader(f))
    _as_spreadsheet_saves(table, variant, tmp_path / "saved.csv")
    original, saved = summarise(csv_path, 0.5).to_dict(), summarise(tmp_path / "saved.csv", 0.5).to_dict()
    assert {**saved, "source": "s.csv"} == original


def test_faces_whose_ids_read_alike_as_file_names_keep_their_own_figures(tmp_path: Path) -> None:
    import csv

    recording = tmp_path / "s.csv"
    write_session_csv(recording, seconds=2, fps=5)
    with open(recording, newline="") as f:
        table = list(csv.reader(f))
    names = {"1": "a b", "2": "a_b", "3": "A_b"}  # hand-edited ids: one file name each, were they not told apart
    with open(recording, "w", newline="") as f:
        csv.writer(f).writerows([table[0], *([*row[:2], names[row[2]], *row[3:]] for row in table[1:])])
    out = tmp_path / "report"
    assert main([str(recording), "--out", str(out)]) == 0
    timelines = sorted(p.name for p in out.glob("*-timeline.png"))
    assert len(timelines) == 3 and len({name.lower() for name in timelines}) == 3
    assert sorted(json.loads((out / "summary.json").read_text())["plotted"]) == sorted(names.values())


def test_a_report_that_fails_half_written_leaves_the_earlier_one_whole(tmp_path: Path, monkeypatch, capsys) -> None:
    import errno

    from fer_desktop.report import figures

    recording = tmp_path / "s.csv"
    write_session_csv(recording, seconds=2, fps=5)
    out = tmp_path / "report"
    assert main([str(recording), "--out", str(out)]) == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    plotted = []
    real = figures.plot_distribution

    def disk_fills(face, path: Path) -> None:  # the disk fills after the first face's figures
        if plotted:
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        plotted.append(face)
        real(face, path)

    monkeypatch.setattr(figures, "plot_distribution", disk_fills)
    write_session_csv(recording, seconds=3, fps=5)  # a different recording: every figure would change
    assert main([str(recording), "--out", str(out), "--overwrite"]) == 1
    assert "No space left on device" in capsys.readouterr().err
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before  # old files only, and no partial folder
