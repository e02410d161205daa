"""A metric registered once (tidal.metrics.register) reaches every place that scores: the
compare table, the JSON, the HTML report, the verdict and the service's promotion gate."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tidal import metrics
from tidal.cli._render import results_table
from tidal.dummy import MajorityClassifier
from tidal.evaluate import default_metrics, prequential, verdict
from tidal.evaluate._report import report_data, write_report
from tidal.linear_model import LogisticRegression
from tidal.metrics.classification import Accuracy
from tidal.registry.gate import METRICS, Evidence, GatePolicy, promotion_gate, score


class ErrorRate(Accuracy):
    """Share of rows predicted wrong: a toy metric, lower is better."""

    higher_is_better = False

    def get(self) -> float:
        return 1.0 - super().get()


@pytest.fixture
def toy():
    spec = metrics.register(
        metrics.MetricSpec(ErrorRate, tasks=("binary", "multiclass"), label="error rate")
    )
    try:
        yield spec
    finally:
        metrics.unregister("ErrorRate")


def _results():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(2500, 2))
    y = (X[:, 0] - X[:, 1] > 0).astype(int)
    learners = {"lr": LogisticRegression(), "majority": MajorityClassifier()}
    return prequential((X, y), learners, window=500, every=500, change_points=[])


def test_a_registered_metric_reaches_table_json_report_verdict_and_gate(toy, tmp_path):
    res = _results()
    lr = res["lr"]
    assert lr["ErrorRate"] == pytest.approx(1.0 - lr["Accuracy"], abs=1e-12)
    assert "ErrorRate[500]" in res.checkpoints[-1]  # rolling too

    headers = [str(c.header) for c in results_table(res).columns]
    assert "ErrorRate" in headers

    data = json.loads(json.dumps(report_data(res)))
    assert data["results"][0]["ErrorRate"] == lr["ErrorRate"]
    assert data["verdict"]["details"]["scores"]["online"]["ErrorRate"] == lr["ErrorRate"]

    html = write_report(res, tmp_path / "r.html").read_text(encoding="utf-8")
    assert "<th>error rate</th>" in html
    assert f"{lr['ErrorRate']:.4f}" in html

    v = verdict(res)
    assert v.details["scores"]["online"]["ErrorRate"] == lr["ErrorRate"]

    assert "errorrate" in METRICS
    policy = GatePolicy(metric="errorrate", min_events=2)
    assert policy.higher_is_better is False
    assert score("errorrate", [1, 0, 1, 1], [1, 1, 1, 0]) == 0.5
    ev = Evidence.from_events([1, 0, 1, 1], [1, 0, 1, 0], [1, 1, 0, 0], policy)
    assert (ev.challenger, ev.champion) == (0.25, 0.75)
    assert promotion_gate(ev, policy).passed  # lower error rate wins


def test_an_unregistered_metric_is_gone_from_the_gate_and_the_engine():
    metrics.register(metrics.MetricSpec(ErrorRate, tasks=("binary",)))
    assert "errorrate" in METRICS and "ErrorRate" in [m.name for m in default_metrics("binary")]
    metrics.unregister("ErrorRate")
    assert "errorrate" not in METRICS
    with pytest.raises(ValueError, match="errorrate"):
        GatePolicy(metric="errorrate")
    assert [m.name for m in default_metrics("binary")] == ["Accuracy", "F1", "ROCAUC", "LogLoss"]
