"""The verdict: online, batch, hybrid or either, with reasons that quote the measured numbers.

Every number in the text is a quote of one cell of the results table, written
``[learner] label = value`` with the table's own formatting (:func:`fmt`), so that a reader (and
a test) can check each one against the table. The rules, in order:

1. **Families.** Each learner is online, batch, hybrid (Hybrid, Switch) or a baseline; the best
   of each family by the primary metric (Accuracy, or R2 for regression) represents it.
2. **Accuracy.** Families within ``TIE`` (0.5 point) of the best are contenders.
3. **Drift.** If there are change points (known or detected) and the best online or hybrid
   contender recovers on average more than ``RECOVERY_MARGIN`` (500) rows faster than the best
   batch learner, recommend it (online when online and hybrid recover within the margin of each
   other and are tied on accuracy: it is cheaper).
4. **One contender** wins.
5. **A tie.** Online and batch both contend: "either", naming the cheaper in CPU seconds and in
   bytes of data kept; online and hybrid: online (cheaper); batch and hybrid: batch (simpler).

The five questions users ask (training complexity, training time, computational power, use in
production, scalability) are then answered for the representatives with their numbers. A
baseline that beats every model is called out.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

__all__ = ["COST_COLUMNS", "LABELS", "Verdict", "fmt", "verdict"]

TIE = 0.005
RECOVERY_MARGIN = 500
FAMILIES = ("online", "batch", "hybrid")

#: column -> label used in quotes and in the report's table headers
LABELS = {
    "Accuracy": "Accuracy",
    "R2": "R2",
    "MAE": "MAE",
    "cpu_s": "CPU s",
    "peak_model_bytes": "peak memory B",
    "bytes_kept": "bytes kept",
    "retrains": "retrains",
    "train_s": "train s",
    "staleness_mean": "staleness rows",
    "latency_s_per_row": "latency us/row",
    "drop_mean": "mean drop",
    "recovery_rows_mean": "recovery rows",
}


#: the cost and recovery columns, in the order the tables show them
COST_COLUMNS = (
    "cpu_s",
    "peak_model_bytes",
    "bytes_kept",
    "retrains",
    "train_s",
    "staleness_mean",
    "latency_s_per_row",
    "drop_mean",
    "recovery_rows_mean",
)


def fmt(column: str, value: Any) -> str:
    """A table cell as the table and the verdict print it.

    >>> fmt("Accuracy", 0.81647), fmt("cpu_s", 3.6151), fmt("latency_s_per_row", 1.41e-06)
    ('0.8165', '3.62', '1.41')
    >>> fmt("bytes_kept", 211366), fmt("staleness_mean", None)
    ('211366', '-')
    """
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if column in ("peak_model_bytes", "bytes_kept", "retrains", "recovery_rows_mean"):
        return f"{value:.0f}"
    if column == "latency_s_per_row":
        return f"{value * 1e6:.2f}"
    if column in ("cpu_s", "train_s"):
        return f"{value:.2f}"
    if column == "staleness_mean":
        return f"{value:.1f}"
    return f"{value:.4f}"


@dataclass
class Verdict:
    """What :func:`verdict` returns: the recommendation, the reasons and the five answers.

    >>> v = Verdict("online", "Use online learning.", ["[a] Accuracy = 0.9000"], {}, ["rule 4"])
    >>> v.recommendation, v.quotes()
    ('online', [('a', 'Accuracy', '0.9000')])
    """

    recommendation: str  # "online", "batch", "hybrid" or "either"
    headline: str
    reasons: list[str]
    answers: dict[str, str]
    rules: list[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        lines = [self.headline, ""]
        lines += [f"- {r}" for r in self.reasons]
        if self.answers:
            lines.append("")
            lines += [f"{q}: {a}" for q, a in self.answers.items()]
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.text

    def quotes(self) -> list[tuple[str, str, str]]:
        """Every ``(learner, column, value)`` quoted in the text."""
        return parse_quotes(self.text)

    def to_dict(self) -> dict[str, Any]:
        return {
            "recommendation": self.recommendation,
            "headline": self.headline,
            "reasons": self.reasons,
            "answers": self.answers,
            "rules": self.rules,
            "text": self.text,
        }


def parse_quotes(text: str) -> list[tuple[str, str, str]]:
    """``(learner, column, value)`` for each ``[learner] label = value`` in ``text``.

    >>> parse_quotes("cheaper: [lr] CPU s = 0.32 vs [batch-lr:every=5] CPU s = 3.61.")
    [('lr', 'cpu_s', '0.32'), ('batch-lr:every=5', 'cpu_s', '3.61')]
    """
    import re

    by_label = {v: k for k, v in LABELS.items()}
    labels = "|".join(re.escape(k) for k in sorted(by_label, key=len, reverse=True))
    pattern = re.compile(rf"\[([^\]]+)\] ({labels}) = (-|-?\d+(?:\.\d+)?)")
    return [(m[1], by_label[m[2]], m[3]) for m in pattern.finditer(text)]


class _Table:
    """The rows the verdict quotes from: learners plus the engine's cost row."""

    def __init__(self, results: Any) -> None:
        self.rows = {r["learner"]: r for r in results.rows}
        for c in getattr(results, "costs", []):
            self.rows.setdefault(c["learner"], c)

    def q(self, learner: str, column: str) -> str:
        return f"[{learner}] {LABELS[column]} = {fmt(column, self.rows[learner].get(column))}"


def _primary(rows: list[dict[str, Any]]) -> str:
    return "Accuracy" if any("Accuracy" in r for r in rows) else "R2"


def verdict(results: Any) -> Verdict:
    """Recommend online, batch, hybrid or either for the stream in ``results``.

    >>> import numpy as np
    >>> from sklearn.linear_model import LogisticRegression as SkLR
    >>> from tidal.batch import BatchLearner, EveryN
    >>> from tidal.evaluate import prequential
    >>> from tidal.linear_model import LogisticRegression
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(6000, 2)); y = (X[:, 0] + X[:, 1] > 0).astype(int)
    >>> learners = {"lr": LogisticRegression(),
    ...             "batch": BatchLearner(SkLR(), retrain=EveryN(50), window=2000)}
    >>> v = verdict(prequential((X, y), learners, change_points=[]))
    >>> v.recommendation
    'either'
    """
    table = _Table(results)
    # hook (compare helper): diverged learners are left out, with a warning among the reasons
    from tidal.evaluate._health import usable_rows

    ok, left_out = usable_rows(results.rows)
    metric = _primary(ok)
    best: dict[str, dict[str, Any]] = {}
    for r in ok:
        fam = r.get("family", "online")
        score = r.get(metric)
        if score is None or (isinstance(score, float) and math.isnan(score)):
            continue
        if fam not in best or score > best[fam][metric]:
            best[fam] = r
    present = [f for f in FAMILIES if f in best]
    if not present:
        return Verdict("either", "No model finished the run: no verdict.", left_out, {}, [])
    top = max(best[f][metric] for f in present)
    contenders = [f for f in present if best[f][metric] >= top - TIE]
    reasons = [
        "accuracy: "
        + ", ".join(f"{f} {table.q(best[f]['learner'], metric)}" for f in present)
        + f" (rule: families within {TIE * 100:.1f} point of the best contend: "
        + ", ".join(contenders)
        + ")"
    ]
    reasons += left_out
    rules = ["accuracy"]
    rec = _drift_rule(results, best, contenders, table, reasons, rules)
    if rec is None:
        rec = _tie_rule(best, contenders, table, reasons, rules)
    base = best.get("baseline")
    if base is not None and base[metric] > top:
        reasons.append(
            f"caution: the baseline {table.q(base['learner'], metric)} beats every model: "
            "the stream is predictable from its own recent labels; add lagged labels as features"
        )
    headline = {
        "online": "Use online learning.",
        "batch": "Use batch learning (periodic retraining).",
        "hybrid": "Use a hybrid (an online correction on top of a batch model).",
        "either": "Either online or batch learning fits this stream; pick the cheaper one.",
    }[rec]
    answers = _answers(best, table, results)
    return Verdict(rec, headline, reasons, answers, rules)


def _drift_rule(
    results: Any,
    best: dict[str, dict[str, Any]],
    contenders: list[str],
    table: _Table,
    reasons: list[str],
    rules: list[str],
) -> str | None:
    points = results.analysis.get("change_points", []) if hasattr(results, "analysis") else []
    batch = best.get("batch")
    fast = [f for f in ("online", "hybrid") if f in contenders and f in best]
    if not points or batch is None or not fast:
        return None
    b_rec = batch.get("recovery_rows_mean")
    recs = {f: best[f].get("recovery_rows_mean") for f in fast}
    recs = {f: v for f, v in recs.items() if v is not None}
    if b_rec is None or not recs:
        return None
    quick = min(recs, key=recs.get)
    if b_rec - recs[quick] <= RECOVERY_MARGIN:
        reasons.append(
            f"drift: {len(points)} change point(s); {quick} does not recover faster than batch "
            f"({table.q(best[quick]['learner'], 'recovery_rows_mean')} vs "
            f"{table.q(batch['learner'], 'recovery_rows_mean')}; rule: a lead of more than "
            f"{RECOVERY_MARGIN} rows counts)"
        )
        return None
    if (
        quick == "hybrid"
        and "online" in recs
        and recs["online"] - recs["hybrid"] <= RECOVERY_MARGIN
    ):
        quick = "online"  # recovers about as fast and costs less
    rules.append("drift")
    reasons.append(
        f"drift: after {len(points)} change point(s) {quick} recovers faster: "
        f"{table.q(best[quick]['learner'], 'recovery_rows_mean')} vs batch "
        f"{table.q(batch['learner'], 'recovery_rows_mean')} (rule: a lead of more than "
        f"{RECOVERY_MARGIN} rows), with mean drops {table.q(best[quick]['learner'], 'drop_mean')}"
        f" and {table.q(batch['learner'], 'drop_mean')}"
    )
    return quick


def _tie_rule(
    best: dict[str, dict[str, Any]],
    contenders: list[str],
    table: _Table,
    reasons: list[str],
    rules: list[str],
) -> str:
    if len(contenders) == 1:
        rules.append("single contender")
        return contenders[0]
    rules.append("tie")
    if "online" in contenders and "batch" in contenders:
        o, b = best["online"]["learner"], best["batch"]["learner"]
        cheaper = "online" if best["online"]["cpu_s"] <= best["batch"]["cpu_s"] else "batch"
        reasons.append(
            f"compute: {cheaper} is cheaper: {table.q(o, 'cpu_s')} vs {table.q(b, 'cpu_s')}; "
            f"data kept {table.q(o, 'bytes_kept')} vs {table.q(b, 'bytes_kept')}"
        )
        return "either"
    if "online" in contenders:
        o, h = best["online"]["learner"], best["hybrid"]["learner"]
        reasons.append(
            f"compute: online is cheaper: {table.q(o, 'cpu_s')} vs {table.q(h, 'cpu_s')}"
        )
        return "online"
    b, h = best["batch"]["learner"], best["hybrid"]["learner"]
    reasons.append(f"simplicity: batch alone: {table.q(b, 'cpu_s')} vs {table.q(h, 'cpu_s')}")
    return "batch"


def _answers(best: dict[str, dict[str, Any]], table: _Table, results: Any) -> dict[str, str]:
    """The five questions, answered with the representatives' numbers."""
    names = {f: best[f]["learner"] for f in FAMILIES if f in best}

    def each(column: str) -> str:
        return ", ".join(table.q(n, column) for n in names.values())

    ans = {}
    parts = []
    for f, n in names.items():
        if f == "online":
            parts.append(f"online learns each row once ({table.q(n, 'retrains')})")
        else:
            parts.append(f"{f} refits a full model on its window ({table.q(n, 'retrains')})")
    ans["Training complexity"] = "; ".join(parts)
    ans["Training time"] = (
        f"wall time spent retraining (in a background worker) {each('train_s')}; CPU of every "
        f"call, training included: {each('cpu_s')}"
    )
    power = f"CPU {each('cpu_s')}; peak model memory {each('peak_model_bytes')}"
    if "engine" in table.rows:
        power += f"; the evaluation itself {table.q('engine', 'cpu_s')}"
    ans["Computational power"] = power
    ans["Use in production"] = (
        f"staleness (labelled rows the serving model has not learned) {each('staleness_mean')}: "
        "a batch model can be reviewed before it goes live and keeps its data for audit "
        f"({each('bytes_kept')}); an online model learns every row at once, bad rows included"
        + (f"; mean drop after changes {each('drop_mean')}" if results.changes else "")
    )
    ans["Scalability"] = (
        f"prediction latency {each('latency_s_per_row')}; online memory stays flat while batch "
        f"keeps its window on disk ({each('bytes_kept')}) and its retrains grow with the window"
    )
    return ans
