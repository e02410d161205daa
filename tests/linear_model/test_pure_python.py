"""The kernels give the same numbers as plain Python (``NUMBA_DISABLE_JIT=1``), bit for bit."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np

SCRIPT = """
import json, numpy as np
from tidal import linear_model as tl, optim as to
rng = np.random.default_rng(5)
X = rng.normal(size=(120, 4)) * [1.0, 3.0, 0.2, 1.0]
y = (X[:, 0] + X[:, 1] > 0).astype(int)
models = [
    tl.LogisticRegression(optimizer=to.Adam(), l1=0.01),
    tl.LogisticRegression(optimizer=to.FTRLProximal(l1=0.1), l2=0.01),
    tl.LinearRegression(optimizer=to.AdaGrad(to.schedulers.InverseScaling(0.5))),
    tl.PARegressor(C=1.0, mode=0),
    tl.PAClassifier(C=1.0, mode=1),
    tl.SoftmaxRegression(optimizer=to.SGD(0.1), l2=0.01),
]
out = []
for m in models:
    multi = m.tags.task == "multiclass"
    target = X[:, 2] * 3 if m.tags.is_regressor else y + (X[:, 3] > 1) * multi
    p = m.step_many(X, target) if m.tags.is_regressor else m.step_proba_many(X, target)
    out.append(np.asarray(p, dtype=float).ravel().tolist())
print(json.dumps(out))
"""


def _run(disable_jit: bool) -> list:
    env = dict(os.environ, NUMBA_DISABLE_JIT="1" if disable_jit else "0")
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_compiled_kernels_equal_pure_python():
    compiled, python = _run(False), _run(True)
    assert len(compiled) == len(python) == 6
    for a, b in zip(compiled, python):
        np.testing.assert_array_equal(np.array(a), np.array(b))
