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

from tidal.base.exceptions import TidalError
from tidal.evaluate._report_guards import guards_html
from tidal.evaluate._verdict import Verdict, verdict
from tidal.evaluate._words import human
from tidal.evaluate.schema import COST_COLUMNS, fmt, label, metric_columns
from tidal.evaluate.style import CHANGE_COLOUR, CSS, layout, line_style

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


def _styles(results: Any) -> dict[str, dict[str, Any]]:
    """One line style per learner: its family's colour family, its own shade and dash."""
    seen: dict[str, int] = {}
    out = {}
    for r in results.rows:
        fam = r.get("family", "online")
        out[r["learner"]] = line_style(fam, seen.get(fam, 0))
        seen[fam] = seen.get(fam, 0) + 1
    out["engine"] = line_style("engine")
    return out


def _no_data(fig: Any) -> Any:
    fig.add_annotation(
        text="no data yet", showarrow=False, font={"size": 16, "color": "#888"}, x=0.5, y=0.5,
        xref="paper", yref="paper",
    )  # fmt: skip
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    return fig


def robust_range(
    curves: dict[str, list[float]], lower_is_better: bool, skip: set[str] = frozenset()
) -> tuple[list[float] | None, list[str]]:
    """A y range that shows the learners, not an outlier: ``(range, learners off the scale)``.

    A learner is off the scale when it is marked (``skip``: diverged, failed) or, for an error
    metric, when its median is more than 10 times the learners' median. The range spans the
    2nd to 98th percentiles of the others, with a margin.

    >>> robust_range({"a": [1.0, 2.0], "b": [1.5, 2.5], "x": [1e9, 1e12]}, True)
    ([0.947, 2.553], ['x'])
    """
    import numpy as np

    vals = {k: np.asarray(v, dtype=float) for k, v in curves.items()}
    vals = {k: v[np.isfinite(v)] for k, v in vals.items()}
    vals = {k: v for k, v in vals.items() if len(v)}
    if not vals:
        return None, []
    med = {k: float(np.median(np.abs(v))) for k, v in vals.items()}
    typical = float(np.median(list(med.values())))
    off = [k for k in vals if k in skip or (lower_is_better and med[k] > 10 * max(typical, 1e-12))]
    kept = [vals[k] for k in vals if k not in off] or list(vals.values())
    lo = min(float(np.percentile(v, 2)) for v in kept)
    hi = max(float(np.percentile(v, 98)) for v in kept)
    pad = 0.05 * (hi - lo) if hi > lo else 0.05 * max(abs(hi), 1.0)
    return [round(lo - pad, 6), round(hi + pad, 6)], sorted(off)


def _rolling_figure(results: Any, styles: dict[str, dict[str, Any]]) -> Any:
    import plotly.graph_objects as go

    a = results.analysis
    fig = go.Figure()
    curves = a.get("curves", {})
    for name, curve in curves.items():
        fig.add_trace(
            go.Scatter(x=curve["row"], y=curve["value"], name=name, mode="lines",
                       line=styles.get(name, line_style("online")))
        )  # fmt: skip
    metric = a.get("metric", "metric")
    title = f"rolling {metric} over the last {a.get('window')} rows"
    if not any(c["row"] for c in curves.values()):
        fig.update_layout(**layout(title))
        return _no_data(fig)
    for c in a.get("change_points", []):
        fig.add_vline(x=c, line={"color": CHANGE_COLOUR, "dash": "dot", "width": 1})
    if a.get("change_points"):
        title += f" ({a.get('change_source', 'known')} change points dotted)"
    skip = {r["learner"] for r in results.rows if r.get("status", "ok") != "ok" or r.get("error")}
    lower = not _higher_is_better(metric)
    span, off = robust_range({k: c["value"] for k, c in curves.items()}, lower, skip)
    if off:
        title += f"; off the scale: {', '.join(off)}"
    fig.update_layout(**layout(title, xaxis_title="row", yaxis_title=metric))
    if span is not None:
        fig.update_yaxes(range=span)
    return fig


def _higher_is_better(metric: str) -> bool:
    from tidal.metrics import metric_spec

    try:
        return bool(metric_spec(metric).higher_is_better)
    except TidalError:  # not a registered metric: treat it as an error metric
        return False


def _cost_figure(results: Any, styles: dict[str, dict[str, Any]]) -> Any:
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    costs = results.costs or results.rows
    panels = [
        ("cpu_s", "CPU seconds", costs),
        ("peak_model_bytes", "peak model memory", results.rows),
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
                marker_color=[styles.get(n, {}).get("color") for n in names],
                showlegend=False,
                text=[human(col, r.get(col)) for r in rows],
                textposition="outside",
                cliponaxis=False,
            ),
            row=1,
            col=i,
        )
        positive = [v for v in values if v > 0]
        if positive and max(positive) > 100 * min(positive):
            # one huge bar must not flatten the rest: a log axis keeps each readable
            fig.update_yaxes(type="log", row=1, col=i)
    fig.update_layout(**layout("costs (log scale where values span 100x or more)", height=420,
                               hovermode="closest"))  # fmt: skip
    if not results.rows:
        return _no_data(fig)
    return fig


def _staleness_figure(results: Any, styles: dict[str, dict[str, Any]]) -> Any:
    import plotly.graph_objects as go

    names = [r["learner"] for r in results.rows]
    values = [r.get("staleness_mean") or 0 for r in results.rows]
    fig = go.Figure(
        go.Bar(
            x=names,
            y=values,
            marker_color=[styles.get(n, {}).get("color") for n in names],
            text=[human("staleness_mean", r.get("staleness_mean")) for r in results.rows],
            textposition="outside",
        )
    )
    title = "staleness: labelled rows the serving model has not learned (mean per prediction)"
    fig.update_layout(**layout(title, height=340, hovermode="closest"))
    return fig if results.rows else _no_data(fig)


def _table_html(results: Any) -> str:
    rows = results.rows
    metrics = metric_columns(rows)
    cols = metrics + list(_TABLE_COSTS)
    head = "".join(f"<th>{html.escape(label(c))}</th>" for c in ["learner", "family", *cols])
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
    if not rows:
        return _EMPTY
    table = f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"
    return f"<div class='scroll'>{table}</div>"


_EMPTY = "<p class='empty'>no data yet</p>"


def _changes_html(results: Any) -> str:
    changes = results.changes
    if not results.rows:
        return _EMPTY
    if not changes:
        lost = results.analysis.get("unconfirmed") or []
        note = f" ({len(lost)} detector alarm(s) not confirmed by any error rise)" if lost else ""
        return f"<p class='empty'>No change points{note}.</p>"
    head = "<tr><th>row</th><th>source</th><th>learner</th><th>before</th><th>worst</th>"
    head += "<th>plateau</th><th>drop</th><th>recovery rows</th></tr>"
    body = []
    for c in changes:
        rec = "not recovered" if c["recovery_rows"] is None else str(c["recovery_rows"])
        cells = [c["row"], c["source"], c["learner"], f"{c['before']:.4f}", f"{c['worst']:.4f}"]
        cells += [f"{c['plateau']:.4f}", f"{c['drop']:.4f}", rec]
        body.append("<tr>" + "".join(f"<td>{html.escape(str(x))}</td>" for x in cells) + "</tr>")
    table = f"<div class='scroll'><table>{head}{''.join(body)}</table></div>"
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
    """Headline, numbered reasons, then the considerations as a table, a column per family."""
    reasons = "".join(f"<li>{html.escape(r)}</li>" for r in v.reasons)
    cols = list(next(iter(v.answers.values()), {}))
    head = "".join(
        f"<th class='fam-{html.escape(c.split(' ')[0])}'>{html.escape(c)}</th>" for c in cols
    )
    body = "".join(
        f"<tr><th>{html.escape(q)}</th>"
        + "".join(f"<td>{html.escape(row.get(c, ''))}</td>" for c in cols)
        + "</tr>"
        for q, row in v.answers.items()
    )
    table = (
        f"<table class='considerations'><thead><tr><th></th>{head}</tr></thead>"
        f"<tbody>{body}</tbody></table>"
        if v.answers
        else ""
    )
    left = v.details.get("left_out") or []
    note = f"<p class='empty'>Left out: {html.escape(', '.join(left))}.</p>" if left else ""
    return (
        f"<div class='verdict'><p class='headline'>{html.escape(v.headline)}</p>"
        f"<ol>{reasons}</ol>{table}{note}</div>"
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
    styles = _styles(results)
    figures = [
        _rolling_figure(results, styles),
        _cost_figure(results, styles),
        _staleness_figure(results, styles),
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
{guards_html(results)}
{_warnings_html(results)}
</body></html>
"""
    path = Path(path)
    path.write_text(doc, encoding="utf-8")
    return path
