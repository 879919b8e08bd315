"""report.html: the summary table and every figure in one self-contained file (images inlined as base64)."""

from __future__ import annotations

import base64
from html import escape
from pathlib import Path
from typing import Any

from fer_desktop.words import count

STYLE = """body{font-family:sans-serif;margin:2em;color:#212121}table{border-collapse:collapse;margin:1em 0}
td,th{border:1px solid #bdbdbd;padding:4px 8px;text-align:right}th{background:#eeeeee}td:first-child{text-align:left}
img{max-width:100%;margin:4px 0}.face{margin:1.5em 0}.note{color:#616161}"""


def _image(path: Path) -> str:
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    return f'<img alt="{escape(path.name)}" src="data:image/png;base64,{data}">'


def _percent(value: float | None) -> str:
    return "–" if value is None else f"{value:.0%}"


BASELINE_NOTE = ("; where a face had one, its shares, dominant emotion, changes and figures are relative to its "
                 "resting face, as the window showed them, and confidence and uncertainty are the model's own")


def _baseline_cell(baseline: dict[str, Any] | None) -> str:
    if baseline is None:
        return "–"
    numbers = ", ".join(f"#{n}" for n in baseline["numbers"])
    return (f"{numbers} on {baseline['rows_share']:.0%} of rows; "
            f"without it: {baseline['dominant_without_baseline'] or '–'}")


def render(summary: dict[str, Any], figures: dict[str, list[Path]]) -> str:
    """The page: one table row per face, then each plotted face's timeline and distribution."""
    rows = []
    for face in summary["faces"]:
        hints = face["quality_hint_share"]
        rows.append(
            "<tr>" + "".join(f"<td>{escape(str(v))}</td>" for v in (
                f"#{face['face_id']}", f"{face['seconds_seen']:.1f}", face["dominant"] or "–",
                _percent(face["share_of_time"][face["dominant"]] if face["dominant"] else None), face["changes"],
                "–" if face["mean_confidence"] is None else f"{face['mean_confidence']:.2f}",
                _percent(face["uncertain_share"]),
                "–" if not hints else ", ".join(f"{h} {s:.0%}" for h, s in hints.items()),
                _baseline_cell(face["neutral_baseline"]),
            )) + "</tr>"
        )
    sections = [
        f'<div class="face"><h3>Face #{escape(face_id)}</h3>{"".join(_image(p) for p in paths)}</div>'
        for face_id, paths in figures.items()
    ]
    left_out = len(summary["faces"]) - len(figures)
    seen = f"{count(left_out, 'face')} seen more briefly {'is' if left_out == 1 else 'are'}"
    note = (f'<p class="note">{seen} in the table and summary.json, without figures.</p>' if left_out > 0 else "")
    models = ", ".join(summary["models"]) or "none"
    cut = ", the last cut short and left out" if summary.get("rows_cut_short") else ""
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>fer-desktop report: {escape(summary['source'])}</title>
<style>{STYLE}</style></head><body>
<h1>Session report: {escape(summary['source'])}</h1>
<p>{summary['rows']} rows ({summary['rows_without_model']} without a model{cut}), model {escape(models)}.
Uncertain frames from the {escape(summary['uncertain_from'])}.
Neutral baselines: {escape(summary['neutral_baselines'])}{BASELINE_NOTE if summary['neutral_baselines'].startswith('applied') else ''}.</p>
<table><tr><th>face</th><th>seconds seen</th><th>dominant</th><th>its share</th><th>changes</th>
<th>mean confidence</th><th>uncertain</th><th>quality hints (share of rows)</th><th>neutral baseline</th></tr>
{"".join(rows)}</table>{note}
{"".join(sections)}
</body></html>
"""
