import math

import pytest

from tidal.registry import Evidence, GatePolicy, promotion_gate, score


def test_higher_is_better_needs_the_margin():
    p = GatePolicy(metric="accuracy", margin=0.05, min_events=10, last_n=100)
    assert promotion_gate(Evidence(0.95, 0.90, 50), p).passed
    d = promotion_gate(Evidence(0.94, 0.90, 50), p)
    assert not d.passed and "does not beat" in d.reason and "0.95" in d.reason


def test_lower_is_better_for_errors():
    p = GatePolicy(metric="mae", margin=0.1, min_events=10)
    assert promotion_gate(Evidence(0.8, 1.0, 20), p).passed
    assert not promotion_gate(Evidence(0.95, 1.0, 20), p).passed
    assert not promotion_gate(Evidence(1.2, 1.0, 20), p).passed


def test_zero_margin_means_strictly_better():
    p = GatePolicy(metric="accuracy", margin=0.0, min_events=1)
    assert not promotion_gate(Evidence(0.9, 0.9, 10), p).passed
    assert promotion_gate(Evidence(0.91, 0.9, 10), p).passed


def test_too_few_events_no_evidence_and_nan_refuse():
    p = GatePolicy(min_events=100)
    assert "at least 100" in promotion_gate(Evidence(1.0, 0.0, 99), p).reason
    assert not promotion_gate(None, p).passed
    assert not promotion_gate(Evidence(math.nan, 0.5, 500), p).passed


def test_no_champion_passes_with_enough_events():
    p = GatePolicy(min_events=5)
    assert promotion_gate(Evidence(0.1, None, 5), p).passed


def test_from_events_scores_only_the_last_n():
    # the first 4 events favour the champion, the last 4 the challenger
    labels = [0, 0, 0, 0, 1, 1, 1, 1]
    challenger = [1, 1, 1, 1, 1, 1, 1, 1]
    champion = [0, 0, 0, 0, 0, 0, 0, 0]
    p = GatePolicy(metric="accuracy", last_n=4, min_events=4)
    ev = Evidence.from_events(labels, challenger, champion, p)
    assert (ev.challenger, ev.champion, ev.n_events) == (1.0, 0.0, 4)
    assert promotion_gate(ev, p).passed
    whole = Evidence.from_events(labels, challenger, champion, GatePolicy(last_n=8, min_events=4))
    assert not promotion_gate(whole, GatePolicy(last_n=8, min_events=4)).passed


def test_score_and_policy_validation():
    assert score("rmse", [0.0, 0.0], [3.0, 4.0]) == pytest.approx(math.sqrt(12.5))
    assert score("accuracy", ["a", "b"], ["a", "a"]) == 0.5
    with pytest.raises(ValueError, match="as many predictions"):
        score("mae", [1.0], [1.0, 2.0])
    with pytest.raises(ValueError, match="metric == 'auc'"):
        GatePolicy(metric="auc")
    with pytest.raises(ValueError, match="margin == -1"):
        GatePolicy(margin=-1)
    with pytest.raises(ValueError, match="min_events"):
        GatePolicy(min_events=10, last_n=5)
