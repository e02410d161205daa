"""The comparison report: one self-contained HTML file (Plotly's JavaScript embedded) and its JSON.

The HTML opens offline: no script, style or font is fetched. It holds the verdict, the rolling
metric per learner with the change points, cost bars, staleness, the full table, the recovery
after each change, and the stamp (tidal version, data fingerprint, settings, learners'
parameters and seeds).
"""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

from tidal.evaluate._style import CHANGE_COLOUR, CSS, colour, layout
from tidal.evaluate._verdict import COST_COLUMNS, LABELS, Verdict, fmt, verdict

__all__ = ["report_data", "write_json", "write_report"]

_TABLE_COSTS = COST_COLUMNS


def report_data(results: Any, v: Verdict | None = None) -> dict[str, Any]:
    """Everything the report shows, as JSON-safe data (the ``--json`` output)."""
    data = results.to_dict()
    data["verdict"] = (v or verdict(results)).to_dict()
    return data


def write_json(results: Any, path: str | Path, v: Verdict | None = None) -> Path:
    """Write :func:`report_data` as strict JSON to ``path``."""
    path = Path(path)
    text = json.dumps(report_data(results, v), indent=2, allow_nan=False)
    path.write_text(text + "\n", encoding="utf-8")
    return path


def _colours(results: Any) -> dict[str, str]:
    seen: dict[str, int] = {}
    out = {}
    for r in results.rows:
        fam = r.get("family", "online")
        out[r["learner"]] = colour(fam, seen.get(fam, 0))
        seen[fam] = seen.get(fam, 0) + 1
    out["engine"] = colour("engine")
    return out


def _rolling_figure(results: Any, colours: dict[str, str]) -> Any:
    import plotly.graph_objects as go

    a = results.analysis
    fig = go.Figure()
    for name, curve in a.get("curves", {}).items():
        fig.add_trace(
            go.Scatter(
                x=curve["row"],
                y=curve["value"],
                name=name,
                mode="lines",
                line={"color": colours.get(name), "width": 1.6},
            )
        )
    for c in a.get("change_points", []):
        fig.add_vline(x=c, line={"color": CHANGE_COLOUR, "dash": "dot", "width": 1})
    kind = a.get("change_source", "known")
    title = f"rolling {a.get('metric', 'metric')} over the last {a.get('window')} rows"
    if a.get("change_points"):
        title += f" ({kind} change points dotted)"
    fig.update_layout(**layout(title, xaxis_title="row", yaxis_title=a.get("metric", "")))
    return fig


def _cost_figure(results: Any, colours: dict[str, str]) -> Any:
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    costs = results.costs or results.rows
    panels = [
        ("cpu_s", "CPU seconds", costs),
        ("peak_model_bytes", "peak model memory (bytes)", results.rows),
        ("bytes_kept", "bytes of data kept", results.rows),
        ("retrains", "retrains", results.rows),
    ]
    fig = make_subplots(rows=1, cols=4, subplot_titles=[p[1] for p in panels])
    for i, (col, _, rows) in enumerate(panels, start=1):
        names = [r["learner"] for r in rows]
        values = [r.get(col) or 0 for r in rows]
        fig.add_trace(
            go.Bar(
                x=names,
                y=values,
                marker_color=[colours.get(n) for n in names],
                showlegend=False,
                text=[fmt(col, r.get(col)) for r in rows],
                textposition="outside",
            ),
            row=1,
            col=i,
        )
    fig.update_layout(**layout("costs", height=420, hovermode="closest"))
    return fig


def _staleness_figure(results: Any, colours: dict[str, str]) -> Any:
    import plotly.graph_objects as go

    names = [r["learner"] for r in results.rows]
    values = [r.get("staleness_mean") or 0 for r in results.rows]
    fig = go.Figure(
        go.Bar(
            x=names,
            y=values,
            marker_color=[colours.get(n) for n in names],
            text=[fmt("staleness_mean", r.get("staleness_mean")) for r in results.rows],
            textposition="outside",
        )
    )
    title = "staleness: labelled rows the serving model has not learned (mean per prediction)"
    fig.update_layout(**layout(title, height=340, hovermode="closest"))
    return fig


def _metric_columns(rows: list[dict[str, Any]]) -> list[str]:
    skip = {"learner", "family", "error", "warnings", "rows", "learned", "rows_per_s"}
    skip |= set(_TABLE_COSTS) | {"model_bytes", "train_cpu_s", "staleness_incl_delay"}
    skip |= {"unrecovered", "status", "compile_s"}
    return [k for k in (rows[0] if rows else {}) if k not in skip]


def _table_html(results: Any) -> str:
    rows = results.rows
    metrics = _metric_columns(rows)
    cols = metrics + list(_TABLE_COSTS)
    head = "".join(
        f"<th>{html.escape(LABELS.get(c, c))}</th>" for c in ["learner", "family", *cols]
    )
    body = []
    for r in rows:
        status = r.get("status") or "ok"  # "diverged" / "error" rows say so by their name
        name = r["learner"] if status == "ok" else f"{r['learner']} ({status})"
        cells = [name, r.get("family", "")]
        cells += [fmt(c, r.get(c)) for c in cols]
        body.append("<tr>" + "".join(f"<td>{html.escape(str(x))}</td>" for x in cells) + "</tr>")
    for c in results.costs:
        if c["learner"] == "engine":
            cells = ["engine", "engine"] + ["" for _ in metrics]
            cells += [fmt("cpu_s", c["cpu_s"])] + ["" for _ in _TABLE_COSTS[1:]]
            body.append("<tr>" + "".join(f"<td>{html.escape(x)}</td>" for x in cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _changes_html(results: Any) -> str:
    changes = results.changes
    if not changes:
        return "<p>No change points.</p>"
    head = "<tr><th>row</th><th>source</th><th>learner</th><th>before</th><th>worst</th>"
    head += "<th>plateau</th><th>drop</th><th>recovery rows</th></tr>"
    body = []
    for c in changes:
        rec = "not recovered" if c["recovery_rows"] is None else str(c["recovery_rows"])
        cells = [c["row"], c["source"], c["learner"], f"{c['before']:.4f}", f"{c['worst']:.4f}"]
        cells += [f"{c['plateau']:.4f}", f"{c['drop']:.4f}", rec]
        body.append("<tr>" + "".join(f"<td>{html.escape(str(x))}</td>" for x in cells) + "</tr>")
    table = f"<table>{head}{''.join(body)}</table>"
    if len(body) <= 24:
        return table
    summary = f"{len(body)} rows: each change point for each learner"
    return f"<details><summary>{summary}</summary>{table}</details>"


def _warnings_html(results: Any) -> str:
    """Every learner's warnings and errors: what went wrong is shown, never silent."""
    items = [
        f"<li><b>{html.escape(r['learner'])}</b>: {html.escape(str(w))}</li>"
        for r in results.rows
        for w in [*(r.get("warnings") or ()), *([r["error"]] if r.get("error") else [])]
    ]
    if not items:
        return ""
    return f"<h2>Warnings</h2><ul class='warnings'>{''.join(items)}</ul>"


def _verdict_html(v: Verdict) -> str:
    reasons = "".join(f"<li>{html.escape(r)}</li>" for r in v.reasons)
    answers = "".join(
        f"<dt><b>{html.escape(q)}</b></dt><dd>{html.escape(a)}</dd>" for q, a in v.answers.items()
    )
    return (
        f"<div class='verdict'><p><b>{html.escape(v.headline)}</b> "
        f"(recommendation: {html.escape(v.recommendation)})</p><ul>{reasons}</ul>"
        f"<dl>{answers}</dl></div>"
    )


def _stamp_html(results: Any, params: dict[str, Any] | None) -> str:
    meta = results.meta
    data = meta.get("data", {})
    line = (
        f"tidal {meta.get('tidal_version')} · {meta.get('created')} · data "
        f"{data.get('name')} ({data.get('rows')} rows, {data.get('task')}) · fingerprint "
        f"{data.get('fingerprint')}"
    )
    stamp = {
        "settings": meta.get("settings"),
        "params": params or {},
        "learners": meta.get("learners"),
    }
    text = json.dumps(stamp, indent=1, default=str)
    return (
        f"<p class='stamp'>{html.escape(line)}</p>"
        f"<details><summary>parameters and seeds</summary><pre>{html.escape(text)}</pre></details>"
    )


def write_report(
    results: Any,
    path: str | Path,
    v: Verdict | None = None,
    title: str = "tidal: online vs batch",
    params: dict[str, Any] | None = None,
) -> Path:
    """Write the self-contained HTML report of ``results`` to ``path``; returns the path.

    >>> import numpy as np, tempfile, os
    >>> from tidal.dummy import MajorityClassifier
    >>> from tidal.evaluate import prequential
    >>> res = prequential((np.zeros((300, 1)), np.arange(300) % 2), [MajorityClassifier()])
    >>> out = write_report(res, os.path.join(tempfile.mkdtemp(), "r.html"))
    >>> text = out.read_text(encoding="utf-8")
    >>> "<script src=" in text, text.count("Plotly.newPlot") >= 3
    (False, True)
    """
    from plotly.offline import get_plotlyjs

    v = v or verdict(results)
    colours = _colours(results)
    figures = [
        _rolling_figure(results, colours),
        _cost_figure(results, colours),
        _staleness_figure(results, colours),
    ]
    divs = [
        f.to_html(full_html=False, include_plotlyjs=False, config={"displaylogo": False})
        for f in figures
    ]
    doc = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>{CSS}</style>
<script type="text/javascript">{get_plotlyjs()}</script>
</head><body>
<h1>{html.escape(title)}</h1>
{_stamp_html(results, params)}
<h2>Verdict</h2>
{_verdict_html(v)}
<h2>Rolling metric</h2>
{divs[0]}
<h2>Costs</h2>
{divs[1]}
<h2>Staleness</h2>
{divs[2]}
<h2>All learners</h2>
{_table_html(results)}
<h2>Recovery after each change point</h2>
{_changes_html(results)}
{_warnings_html(results)}
</body></html>
"""
    path = Path(path)
    path.write_text(doc, encoding="utf-8")
    return path
