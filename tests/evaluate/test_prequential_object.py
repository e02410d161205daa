"""The engine as an object with named steps, and compare's options as one value."""

from __future__ import annotations

import numpy as np
import pytest

from tidal.base.exceptions import ParameterError
from tidal.dummy import MajorityClassifier, NoChangeClassifier
from tidal.evaluate import CompareOptions, prequential
from tidal.evaluate._engine import Prequential, Settings
from tidal.evaluate._source import as_source
from tidal.evaluate._warmup import CompileClock


def _data():
    rng = np.random.default_rng(1)
    return np.zeros((700, 1)), (rng.random(700) < 0.4).astype(int)


def test_the_named_steps_by_hand_give_what_prequential_gives():
    X, y = _data()
    settings = Settings(every=100, window=50, warmup=False, change_points=[])
    with CompileClock() as clock:
        run = Prequential(
            as_source((X, y), None), {"nc": NoChangeClassifier()}, "binary", settings, clock
        )
        blocks = iter(run.source)
        first = run.open(next(blocks))
        assert [m.name for m in run.metrics] == ["Accuracy", "F1", "ROCAUC", "LogLoss"]
        assert run.pos_label is True and run.warm(first) == 0.0
        run.start_clocks()
        run.step(first.slice(0, 100))  # one piece: a checkpoint at row 100
        assert run.seen == 100 and [r["row"] for r in run.series.records()] == [100]
        rest = first.slice(100, len(first))
        run.stream([rest, *blocks])
        mine = run.finish()
    ref = prequential((X, y), {"nc": NoChangeClassifier()}, every=100, window=50,
                      change_points=[])  # fmt: skip
    keys = ["Accuracy", "F1", "ROCAUC", "LogLoss", "Accuracy[50]", "rows"]
    assert {k: mine["nc"][k] for k in keys} == {k: ref["nc"][k] for k in keys}
    assert [c["Accuracy"] for c in mine.checkpoints] == [c["Accuracy"] for c in ref.checkpoints]


def test_settings_are_checked_once_with_the_setting_named():
    with pytest.raises(ParameterError, match="delay == -1"):
        Settings(delay=-1).check()
    with pytest.raises(ParameterError, match="guard: label delays"):
        Settings(guard=object(), delay=3).check()
    assert Settings(every=7).check().every == 7


def test_compare_options_keep_run_compares_order_and_feed_the_engine():
    opts = CompareOptions("s.csv", "y", "lr,nb", 500, 0, 3)
    assert (opts.target, opts.models, opts.every, opts.window, opts.delay) == (
        "y",
        "lr,nb",
        500,
        None,
        3,
    )
    kw = opts.with_(change_points=[10]).engine_kwargs()
    assert kw == {"every": 500, "window": None, "delay": 3, "delay_seconds": None,
                  "change_points": [10]}  # fmt: skip
    res = prequential(_data(), [MajorityClassifier()], warmup=False, **kw)
    assert res.meta["settings"]["delay"] == 3
    with pytest.raises(ParameterError, match="--task 'ranking'"):
        opts.with_(task="ranking")
