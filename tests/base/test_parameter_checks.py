"""One validation module (tidal.base.validation) serves every package's parameter checks: the
message says the parameter, the value that came and what was expected, in one format."""

from __future__ import annotations

import re

import numpy as np
import pytest

from tidal.base import ParameterError
from tidal.base.validation import check_bool, check_choice, check_int, check_real


def test_the_checks_return_the_value_and_name_what_failed() -> None:
    assert check_real("l2", 1, 0.0) == 1.0 and isinstance(check_real("l2", 1, 0.0), float)
    assert check_int("n", np.int64(3), 1) == 3
    assert check_bool("flag", np.bool_(True)) is True
    assert check_choice("mode", "a", ("a", "b")) == "a"
    cases = [
        (
            lambda: check_real("lr", float("nan"), 0.0, owner="SGD"),
            "SGD: lr == nan, must be a finite number >= 0",
        ),
        (lambda: check_real("a", True, 0.0, 1.0), "a == True, must be in [0, 1]"),
        (
            lambda: check_real("a", 1.0, 0.0, 1.0, "[)"),
            "a == 1.0, must be in [0, 1)",
        ),
        (lambda: check_int("k", True, 1), "k == True, must be an integer >= 1"),
        (lambda: check_int("k", 0, 1, allow_none=True), "k == 0, must be an integer >= 1 or None"),
        (lambda: check_choice("m", 1, (0, 1, 2)[:1]), "m == 1, must be one of [0]"),
        (lambda: check_choice("m", ["x"], {"x"}), "m == ['x'], must be one of ['x']"),
    ]
    for call, message in cases:
        with pytest.raises(ParameterError, match=re.escape(message)):
            call()


def _learn(model):
    model.learn_many({"x": [0.0, 1.0]}, [0.0, 1.0])


@pytest.mark.parametrize(
    ("build", "message"),
    [
        ("tidal.drift:ADWIN(delta=1.0)", "delta == 1.0, must be in (0, 1)"),
        ("tidal.stream.synth:SEA(noise=True)", "noise == True, must be in [0, 1]"),
        (
            "tidal.batch:EveryT(seconds=float('inf'))",
            "EveryT: seconds == inf, must be a finite number > 0",
        ),
        (
            "tidal.preprocessing:OneHotEncoder(max_categories=True)",
            "max_categories == True, must be an integer >= 1",
        ),
        (
            "tidal.neighbors:KNNRegressor(aggregation_method='max')",
            "aggregation_method == 'max', must be one of",
        ),
        (
            "tidal.monitor:FeatureDriftMonitor(alpha=float('nan'))",
            "alpha == nan, must be in (0, 1)",
        ),
        (
            "tidal.linear_model:LinearRegression(l2=-1.0)",
            "LinearRegression: l2 == -1.0, must be a finite number >= 0",
        ),
    ],
)
def test_every_package_speaks_the_same_format(build: str, message: str) -> None:
    import importlib

    module, expr = build.split(":")
    namespace = vars(importlib.import_module(module))
    with pytest.raises(ParameterError, match=re.escape(message)):
        obj = eval(expr, dict(namespace))  # noqa: S307 - literal test cases above
        if hasattr(obj, "start"):
            obj.start()
        elif hasattr(obj, "update"):
            obj.update(0.0)
        elif hasattr(obj, "take"):
            next(iter(obj.take(10)))
        else:
            _learn(obj)
