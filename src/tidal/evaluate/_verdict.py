"""The verdict: online, batch, hybrid or either, in plain words a person checks in a minute.

The question is "which should I run from now on?", so the verdict rests on the **steady state**
(the last 20 % of the rows, see :mod:`tidal.evaluate._steady`) and on recovery after changes;
the cold start (warm-up rows, a batch model's first fit) is its own line. The rules, in order:

1. **Enough data, or no verdict** ("undecided"): at least ``MIN_ROWS`` (1,000) labelled rows; for
   classifiers at least two classes with ``MIN_PER_CLASS`` (20) rows each; and each family must
   have a model that served its steady state from a trained model (a batch model whose first
   fit came after the steady state began cannot be judged). The text gives the counts.
2. **Families.** Each learner is online, batch, hybrid (Hybrid, Switch) or a baseline; the best
   of each family by steady quality represents it. Learners that failed (an error) or carry a
   ``status`` other than "ok" (e.g. "diverged") are left out, and the text says so.
3. **Win or tie, by a paired test.** The leader wins over another family when the block
   bootstrap over their paired steady-state errors gives at least ``CONFIDENCE`` (95 %) that it
   is better *and* the gap is at least ``FLOOR`` (half an accuracy point; 1 % of the MAE for
   regression: a practical-significance floor). Otherwise they tie: both contend.
4. **Drift.** If there are change points (known, or detected and confirmed against the
   learners' errors, see :mod:`tidal.evaluate._recovery`) and the best online or hybrid
   contender recovers on average more than ``RECOVERY_MARGIN`` (500) rows faster than the best
   batch learner, recommend it (online over hybrid when they recover within the margin).
5. **One contender** wins. **A tie**: online and batch: "either" (the text names the cheaper);
   online and hybrid: online (cheaper); batch and hybrid: batch (simpler).
6. **Baselines.** When a baseline (no-change, majority, mean) is steadier than every model, the
   headline says so first and what it means; the family answer follows.

The text: a headline, at most three reasons, then the five considerations (training
complexity, training time, computational power, use in production, scalability) as one table
with a column per family. Every number is a recorded citation (:mod:`tidal.evaluate._words`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from tidal.evaluate._considerations import considerations, table_text
from tidal.evaluate._steady import paired_confidence
from tidal.evaluate._words import Cite, numbers
from tidal.evaluate.schema import COST_COLUMNS, fmt, label, score_columns, steady_column
from tidal.metrics import MetricSpec, headline

__all__ = ["COST_COLUMNS", "Verdict", "fmt", "label", "numbers", "parse_quotes", "verdict"]

MIN_ROWS = 1000
MIN_PER_CLASS = 20
CONFIDENCE = 0.95
FLOOR = 0.005
RECOVERY_MARGIN = 500
FAMILIES = ("online", "batch", "hybrid")


@dataclass
class Verdict:
    """What :func:`verdict` returns: the recommendation, the reasons and the five answers.

    ``answers`` maps each consideration to ``{family: cell}``; ``cited`` records every number of
    the text as ``(learner, column, text)``; ``details`` holds the steady-state comparison.

    >>> v = Verdict("online", "Use online learning.", ["lr is steadier."], {}, ["single"])
    >>> print(v.text)
    Use online learning.
    <BLANKLINE>
    1. lr is steadier.
    """

    recommendation: str  # "online", "batch", "hybrid", "either" or "undecided"
    headline: str
    reasons: list[str]
    answers: dict[str, dict[str, str]]
    rules: list[str] = field(default_factory=list)
    cited: list[tuple[str, str, str]] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def text(self) -> str:
        lines = [self.headline, ""]
        lines += [f"{i}. {r}" for i, r in enumerate(self.reasons, start=1)]
        if self.answers:
            lines += ["", table_text(self.answers)]
        if self.details.get("left_out"):
            lines += ["", "Left out: " + ", ".join(self.details["left_out"]) + "."]
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.text

    def quotes(self) -> list[tuple[str, str, str]]:
        """Every ``(learner, column, text)`` cited in the text, in order."""
        return list(self.cited)

    def to_dict(self) -> dict[str, Any]:
        return {
            "recommendation": self.recommendation,
            "headline": self.headline,
            "reasons": self.reasons,
            "answers": self.answers,
            "rules": self.rules,
            "quotes": [list(q) for q in self.cited],
            "details": self.details,
            "text": self.text,
        }


def parse_quotes(data: dict[str, Any]) -> list[tuple[str, str, str]]:
    """The citations of a verdict's JSON form (``Verdict.to_dict()``), as tuples.

    >>> parse_quotes({"quotes": [["lr", "cpu_s", "500 ms"]]})
    [('lr', 'cpu_s', '500 ms')]
    """
    return [tuple(q) for q in data.get("quotes", [])]  # type: ignore[misc]


def _rows(results: Any) -> dict[str, dict[str, Any]]:
    """The cells the verdict cites from: learners, the engine's row, first fits, data counts."""
    rows = {r["learner"]: dict(r) for r in results.rows}
    for c in getattr(results, "costs", []):
        rows.setdefault(c["learner"], dict(c))
    learners = results.meta.get("learners", {}) if hasattr(results, "meta") else {}
    for name, meta in learners.items():
        if name in rows and "first_fit_row" in meta:
            rows[name]["first_fit_row"] = meta["first_fit_row"]
    return rows


def _usable(r: dict[str, Any], steady: str) -> bool:
    value = r.get(steady)
    return (
        not r.get("error")
        and r.get("status", "ok") == "ok"
        and r.get("rows", 0) > 0
        and value is not None
        and math.isfinite(value)
    )


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
    >>> v.recommendation, v.rules  # batch ends ahead: its cold start no longer counts
    ('batch', ['steady', 'single contender'])
    """
    rows = _rows(results)
    say = Cite(rows)
    task = _task(results)
    classifier = task != "regression"
    metric = headline(task)  # the verdict ranks the steady state of the headline metric
    steady = steady_column(task)
    sign = 1.0 if metric.higher_is_better else -1.0  # "higher is better" values
    left_out = [
        f"{r['learner']} ({r.get('status') if r.get('status', 'ok') != 'ok' else 'failed'})"
        for r in results.rows
        if r.get("error") or r.get("status", "ok") != "ok"
    ]
    ok = [r for r in results.rows if _usable(r, steady)]
    short = _not_enough(results, ok, classifier, say)
    if short:
        return Verdict(
            "undecided",
            "Not enough data to decide.",
            short,
            {},
            ["enough data"],
            say.cited,
            {"left_out": left_out},
        )
    best: dict[str, dict[str, Any]] = {}
    for r in ok:
        fam = r.get("family", "online")
        if fam not in best or sign * r[steady] > sign * best[fam][steady]:
            best[fam] = r
    present = [f for f in FAMILIES if f in best]
    if not present:
        head = "No model finished the run: no verdict."
        return Verdict("undecided", head, [], {}, [], say.cited, {"left_out": left_out})
    blocks = results.analysis.get("steady", {}).get("blocks", {})
    lead = max(present, key=lambda f: sign * best[f][steady])
    tests = {}
    for f in present:
        if f != lead:
            a, b = best[lead]["learner"], best[f]["learner"]
            gap = sign * (best[lead][steady] - best[f][steady])
            conf = paired_confidence(blocks.get(a, []), blocks.get(b, []))
            floor = FLOOR if classifier else FLOOR * 2 * abs(best[lead][steady])
            tests[f] = {"gap": gap, "confidence": conf, "wins": conf >= CONFIDENCE and gap >= floor}
    contenders = [f for f in present if f == lead or not tests[f]["wins"]]
    reasons, rules = [_quality_reason(say, best, lead, tests, metric, classifier)], ["steady"]
    rec, drift_reason = _drift_rule(results, best, contenders, say)
    if rec is not None:
        rules.append("drift")
    elif len(contenders) == 1:
        rec = contenders[0]
        rules.append("single contender")
    else:
        rec = _tie_rule(contenders)
        rules.append("tie")
    if drift_reason:
        reasons.append(drift_reason)
    if rec == "either" or (rules[-1] == "tie" and len(reasons) < 3):
        reasons.append(_cost_reason(say, best, contenders))
    if len(reasons) < 3:
        reasons.append(_cold_start_reason(say, best, present))
    head = _HEADLINES[rec]
    base = best.get("baseline")
    model_top = best[lead]
    if base is not None and sign * base[steady] > sign * model_top[steady]:
        rules.insert(0, "baseline")
        conf = paired_confidence(
            blocks.get(base["learner"], []), blocks.get(model_top["learner"], [])
        )
        head = _baseline_headline(say, base, model_top, metric, head, conf)
    details = {
        "steady": {f: {"learner": best[f]["learner"], steady: best[f][steady]} for f in best},
        "tests": tests,
        "left_out": left_out,
        # every registered metric over the whole run, for each family's representative
        "scores": {f: {c: best[f].get(c) for c in score_columns(results.rows)} for f in best},
    }
    answers = considerations(say, {f: best[f]["learner"] for f in present}, results)
    return Verdict(rec, head, reasons[:3], answers, rules, say.cited, details)


_HEADLINES = {
    "online": "Use online learning.",
    "batch": "Use batch learning (periodic retraining).",
    "hybrid": "Use a hybrid (an online correction on top of a batch model).",
    "either": "Either online or batch learning fits this stream; pick the cheaper one.",
}


def _task(results: Any) -> str:
    """ "regression" when the rows hold the regression headline metric, else a classification
    task (the verdict's rules are the same for binary and multiclass)."""
    name = headline("regression").name
    return "regression" if any(name in r for r in results.rows) else "multiclass"


def _baseline_headline(
    say: Cite, base: dict, top: dict, metric: MetricSpec, family: str, conf: float
) -> str:
    name, top_name = base["learner"], top["learner"]
    meaning = {
        "nochange": "the last label predicts the next one best here: add lagged labels (and "
        "their changes) as features before choosing a model",
        "majority": "the features add nothing the class frequencies do not: check the features "
        "and the label",
        "mean": "the features add nothing the running mean does not: check the features",
    }
    kind = next((k for k in meaning if k in name.lower()), "nochange")
    opening = (
        f"The {name} baseline beats every model"
        if conf >= CONFIDENCE
        else f"No model beats the {name} baseline"
    )
    steady, whole = "steady_" + metric.name.lower(), metric.name
    return (
        f"{opening}: {say.cite(name, steady)} vs {say.cite(top_name, steady)} for {top_name} on "
        f"the steady state ({say.derived(f'{name}|{top_name}', 'confidence', conf)} confidence), "
        f"{say.cite(name, whole)} vs {say.cite(top_name, whole)} over the whole run. "
        f"{meaning[kind][0].upper()}{meaning[kind][1:]}. Among the models: "
        f"{family[0].lower()}{family[1:]}"
    )


def _quality_reason(
    say: Cite, best: dict, lead: str, tests: dict, metric: MetricSpec, cls: bool
) -> str:
    a = best[lead]["learner"]
    what, steady = metric.noun, "steady_" + metric.name.lower()
    start = say.derived("data", "rows", _steady_rows(say))
    if not tests:
        level = say.cite(a, steady)
        return f"{_who(a, lead)} is the only model family: {what} {level} over the last {start}."
    parts = []
    for f, t in tests.items():
        b = best[f]["learner"]
        gap = _gap_words(say, a, b, t["gap"], cls, metric)
        conf = say.derived(f"{a}|{b}", "confidence", t["confidence"])
        if t["wins"]:
            parts.append(
                f"{_who(a, lead)} beats {_who(b, f)} by {gap}: {say.cite(a, steady)} vs "
                f"{say.cite(b, steady)}, {conf} confidence"
            )
        else:
            parts.append(
                f"{_who(a, lead)} and {_who(b, f)} are tied: {say.cite(a, steady)} vs "
                f"{say.cite(b, steady)}, {gap} apart ({conf} confidence)"
            )
    need = say.derived("rule", "confidence", CONFIDENCE)
    return (
        f"On the last {start} ({what}, the steady state), " + "; ".join(parts) + f" (a win needs "
        f"{need} confidence in a paired block bootstrap)."
    )


def _who(name: str, family: str) -> str:
    """ "arf (online)", or just "online" when the learner is named after its family."""
    return name if name == family else f"{name} ({family})"


def _gap_words(say: Cite, a: str, b: str, gap: float, cls: bool, metric: MetricSpec) -> str:
    if cls:
        return say.derived(f"{a}|{b}", "points", 100 * gap)
    base = abs(say.value(b, "steady_" + metric.name.lower()) or 1.0)
    return say.derived(f"{a}|{b}", "percent", gap / base) + f" lower {metric.noun}"


def _steady_rows(say: Cite) -> int:
    rows = [r.get("rows", 0) for r in say.rows.values() if r.get("family") != "engine"]
    n = max(rows, default=0)
    from tidal.evaluate._steady import steady_start

    return n - steady_start(n)


def _drift_rule(results: Any, best: dict, contenders: list[str], say: Cite) -> tuple:
    """(recommendation or None, the drift sentence or "") — only with change points."""
    points = results.analysis.get("change_points", []) if hasattr(results, "analysis") else []
    batch = best.get("batch")
    fast = [f for f in ("online", "hybrid") if f in contenders]
    if not points or batch is None or not fast:
        return None, ""
    recs = {f: best[f].get("recovery_rows_mean") for f in fast}
    recs = {f: v for f, v in recs.items() if v is not None}
    b_rec = batch.get("recovery_rows_mean")
    if b_rec is None or not recs:
        return None, ""
    quick = min(recs, key=recs.get)
    if (
        quick == "hybrid"
        and "online" in recs
        and recs["online"] - recs["hybrid"] <= RECOVERY_MARGIN
    ):
        quick = "online"  # recovers about as fast and costs less
    q, b = best[quick]["learner"], batch["learner"]
    kind = results.analysis.get("change_source", "known")
    n = say.derived("data", "count", len(points))
    what = "known" if kind == "known" else "confirmed"
    if b_rec - recs[quick] <= RECOVERY_MARGIN:
        return None, (
            f"After {n} {what} change(s), {_who(q, quick)} does not recover clearly faster "
            f"than {_who(b, 'batch')}: {say.cite(q, 'recovery_rows_mean')} vs "
            f"{say.cite(b, 'recovery_rows_mean')}."
        )
    return quick, (
        f"After {n} {what} change(s), {_who(q, quick)} is back to its level in "
        f"{say.cite(q, 'recovery_rows_mean')} on average, {_who(b, 'batch')} in "
        f"{say.cite(b, 'recovery_rows_mean')}: it adapts faster when the stream changes."
    )


def _tie_rule(contenders: list[str]) -> str:
    if "online" in contenders and "batch" in contenders:
        return "either"
    return "online" if "online" in contenders else "batch"


def _cost_reason(say: Cite, best: dict, contenders: list[str]) -> str:
    names = [(f, best[f]["learner"]) for f in contenders]
    cheap = min(names, key=lambda p: say.value(p[1], "cpu_s") or 0.0)
    cells = " vs ".join(f"{say.cite(n, 'cpu_s')} for {n}" for _, n in names)
    kept = " vs ".join(f"{say.cite(n, 'bytes_kept')}" for _, n in names)
    return (
        f"Being tied, cost decides: {_who(cheap[1], cheap[0])} is cheaper in CPU ({cells}); "
        f"data kept for retraining: {kept}."
    )


def _cold_start_reason(say: Cite, best: dict, present: list[str]) -> str:
    parts = []
    for f in present:
        n = best[f]["learner"]
        first = say.value(n, "first_fit_row")
        warm = say.value(n, "warmup_rows")
        text = f"{n} reached its steady level within {say.cite(n, 'warmup_rows')}"
        if warm is None:
            text = f"{n} never settled before the steady state"
        if f != "online" and first is not None:
            text += f" (first model live at {say.cite(n, 'first_fit_row')})"
        parts.append(text)
    return "Cold start, not counted above: " + "; ".join(parts) + "."


def _not_enough(results: Any, ok: list[dict], classifier: bool, say: Cite) -> list[str]:
    """Why the data cannot decide (empty when it can): the counts against the minimums."""
    n = max((r.get("rows", 0) for r in results.rows), default=0)
    out = []
    if n < MIN_ROWS:
        out.append(
            f"The stream has {say.derived('data', 'rows', n)} with a label; a verdict needs at "
            f"least {say.derived('rule', 'rows', MIN_ROWS)}."
        )
    counts = results.meta.get("data", {}).get("class_counts") if hasattr(results, "meta") else None
    if classifier and counts is not None:
        big = sorted(counts.values(), reverse=True)
        if len(big) < 2 or big[1] < MIN_PER_CLASS:
            seen = ", ".join(f"{k}: {say.derived('data', 'count', v)}" for k, v in counts.items())
            out.append(
                f"Rows per class ({seen or 'none'}): a verdict needs two classes with at least "
                f"{say.derived('rule', 'count', MIN_PER_CLASS)} rows each."
            )
    from tidal.evaluate._steady import steady_start

    start = steady_start(n)
    for r in results.rows:
        first = say.value(r["learner"], "first_fit_row")
        fam = r.get("family")
        if fam in ("batch", "hybrid") and (first is None or first > start) and not r.get("error"):
            if any(o.get("family") == fam and _fit_before(say, o, start) for o in ok):
                continue  # another model of the family can speak for it
            when = (
                "never" if first is None else f"only at {say.cite(r['learner'], 'first_fit_row')}"
            )
            out.append(
                f"{r['learner']} ({fam}) served its first trained model {when}; the steady "
                f"state starts at {say.derived('data', 'row', start)}: give it more rows or "
                "retrain it sooner."
            )
    return out


def _fit_before(say: Cite, r: dict, start: int) -> bool:
    first = say.value(r["learner"], "first_fit_row")
    return first is not None and first <= start
