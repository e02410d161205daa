"""The report's "Guards and drift" section: what the guards rejected (per rule and column),
the label bursts on the stream's time axis, each learner's score without them, feature drift.

Kept apart from :mod:`tidal.evaluate._report` so the section can change without touching the
rest of the report; ``write_report`` only calls :func:`guards_html`.

>>> import numpy as np
>>> from tidal.dummy import MajorityClassifier
>>> from tidal.evaluate import prequential
>>> res = prequential((np.zeros((300, 1)), np.arange(300) % 2), [MajorityClassifier()])
>>> guards_html(res)
''
"""

from __future__ import annotations

import html
from typing import Any

__all__ = ["guards_html"]


def _table(head: list[str], rows: list[list[Any]]) -> str:
    th = "".join(f"<th>{html.escape(h)}</th>" for h in head)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in r) + "</tr>" for r in rows
    )
    return f"<table><tr>{th}</tr>{body}</table>"


def _timeline(guard: dict[str, Any], drift: dict[str, Any] | None, n_rows: int) -> str:
    """Bursts as shaded spans and drift reports as markers (one line per feature), by row."""
    import plotly.graph_objects as go

    fig = go.Figure()
    events = (drift or {}).get("events", [])
    if events:
        fig.add_trace(
            go.Scatter(
                x=[e["row"] for e in events],
                y=[e["feature"] for e in events],
                mode="markers",
                marker={"size": [6 + 6 * min(e["size"], 3.0) for e in events]},
                text=[f"{e['test']} p={e['p_value']:.1e}, size {e['size']:.2f}" for e in events],
                name="feature drift",
            )
        )
    for b in guard.get("bursts", []):
        end = n_rows if b.get("end") is None else b["end"]
        colour = "#999" if b.get("lasting") else "#d62728"
        fig.add_vrect(x0=b["start"], x1=end, fillcolor=colour, opacity=0.25, line_width=0)
        fig.add_vline(x=b["alarm"], line_dash="dot", line_color=colour)
    fig.update_layout(
        height=260,
        margin={"l": 10, "r": 10, "t": 10, "b": 30},
        xaxis={"title": "stream row", "range": [0, max(n_rows, 1)]},
        showlegend=False,
    )
    return fig.to_html(full_html=False, include_plotlyjs=False, config={"displaylogo": False})


def guards_html(results: Any) -> str:
    """The section ("" when the run had neither a guard nor drift results)."""
    guard = results.meta.get("guard") or {}
    drift = results.meta.get("drift")
    if not guard and not (drift and drift.get("features")):
        return ""
    out = ["<h2>Guards and drift</h2>"]
    n_rows = int((results.meta.get("data") or {}).get("rows") or guard.get("rows") or 0)
    if guard:
        v = guard.get("verdicts", {})
        where = guard.get("quarantine")
        out.append(
            f"<p>{guard.get('rows', 0):,} rows checked: {v.get('quarantined', 0):,} quarantined"
            + (f" (kept in {html.escape(where)})" if where else " (not kept: no quarantine)")
            + f", {v.get('repaired', 0):,} repaired, {v.get('flagged', 0):,} flagged.</p>"
        )
        cells = [
            [rule, col, n]
            for rule, per in guard.get("columns", {}).items()
            for col, n in per.items()
        ]
        rules = [[r, n] for r, n in guard.get("rules", {}).items() if n]
        if cells:
            out.append(_table(["rule", "column", "cells"], sorted(cells, key=lambda r: -r[2])))
        if rules:
            out.append(_table(["rule", "rows hit"], rules))
        bursts = guard.get("bursts", [])
        out.append(
            _table(
                ["burst start (est.)", "alarm", "end (est.)", "learners rolled back", "kind"],
                [
                    [
                        b["start"],
                        b["alarm"],
                        "-" if b.get("end") is None else b["end"],
                        b.get("rolled_back", 0),
                        "lasting change (learned)" if b.get("lasting") else "burst (not learned)",
                    ]
                    for b in bursts
                ],
            )
            if bursts
            else "<p>No label burst detected.</p>"
        )
        scores = [
            [
                r["learner"],
                f"{r['Accuracy']:.4f}" if "Accuracy" in r else "-",
                f"{r['Accuracy_normal']:.4f}" if "Accuracy_normal" in r else "-",
                r.get("excluded_quarantined", "-"),
                r.get("excluded_burst", "-"),
            ]
            for r in results.rows
        ]
        out.append(
            "<p>Accuracy scores every row the learners saw; the score on the rows learned "
            "normally leaves out the rows inside a detected burst (scored against labels "
            "that were corrupted).</p>"
        )
        out.append(
            _table(
                ["learner", "Accuracy", "on rows learned normally", "quarantined", "in bursts"],
                scores,
            )
        )
    if drift:
        feats = drift.get("features", {})
        out.append(
            f"<p>Feature drift: {drift.get('flagged_checks', 0)} of {drift.get('checks', 0)} "
            f"checks flagged a feature (window {drift.get('window')} rows against the one "
            f"before, Bonferroni over the features, change of at least "
            f"{drift.get('min_size')} SD).</p>"
        )
        if feats:
            out.append(
                _table(
                    ["feature", "reports", "first row", "last row", "largest change"],
                    [
                        [k, f["reports"], f["first_row"], f["last_row"], f"{f['max_size']:.2f}"]
                        for k, f in feats.items()
                    ],
                )
            )
    out.append(_timeline(guard, drift, n_rows))
    return "\n".join(out)
