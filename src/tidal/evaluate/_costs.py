"""What each learner costs: CPU, memory, data kept, retrains, staleness, prediction latency.

The engine gives every learner a :class:`CostMeter`. Its rules, so that the numbers add up:

- CPU: ``time.process_time()`` around each call on the learner. The process clock counts every
  thread, so a batch learner's training thread is charged to it *if it trains during its own
  calls*: the meter therefore waits, inside the timed call, for the trainings it started
  (:meth:`CostMeter.settle`). Whatever the learners were not charged is the "engine" row.
- Staleness (the issue's definition): for each prediction, the labelled rows that had arrived
  before it but that the serving model has not learned from; reported as the mean. Online
  learners learn every label on arrival: 0. Batch learners: measured by the learner (test-then-
  train) or here from its serving window (with a label delay). A :class:`~tidal.batch.Hybrid`
  counts as up to date (its online part learns every label); a :class:`~tidal.batch.Switch`
  holding a batch member is not measured (None). ``staleness_incl_delay`` adds the label delay:
  the rows before the prediction whose labels the model lacks (an online learner: the delay).
- Prediction latency: CPU seconds per predicted row of predict-only calls; in test-then-train
  runs (one fused call) a predict-only call on the last rows seen is timed at every 4th checkpoint
  (charged to the engine, it does not change what the learners learn).
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from tidal.metrics import headline

__all__ = ["CostMeter", "family", "nested_batch"]

_SAMPLE_ROWS = 256


def _children(obj: Any) -> list[Any]:
    """The fitted sub-learners of a composite (pipelines, hybrids, switches)."""
    from tidal.base import Learner

    if hasattr(obj, "_step_list"):
        return obj._step_list()
    out = []
    for key in ("_batch", "_online", "_members"):
        value = vars(obj).get(key)
        items = value if isinstance(value, list | tuple) else [value]
        out += [v for v in items if isinstance(v, Learner)]
    return out


def nested_batch(learner: Any) -> list[Any]:
    """The batch learners inside ``learner`` (itself included), fitted copies only.

    >>> from sklearn.linear_model import LogisticRegression
    >>> from tidal.batch import BatchLearner
    >>> from tidal.dummy import MajorityClassifier
    >>> len(nested_batch(BatchLearner(LogisticRegression()))), nested_batch(MajorityClassifier())
    (1, [])
    """
    from tidal.batch import BatchLearner

    if isinstance(learner, BatchLearner):
        return [learner]
    found = []
    for child in _children(learner):
        found += nested_batch(child)
    return found


def family(learner: Any) -> str:
    """ "baseline", "batch", "hybrid" (a Hybrid or a Switch) or "online".

    >>> from tidal.dummy import NoChangeClassifier
    >>> from tidal.linear_model import LogisticRegression
    >>> family(NoChangeClassifier()), family(LogisticRegression())
    ('baseline', 'online')
    """
    from tidal.batch import BatchLearner, Hybrid, Switch

    last = learner._step_list()[-1] if hasattr(learner, "_step_list") else learner
    if isinstance(last, Hybrid | Switch):
        return "hybrid"
    if isinstance(last, BatchLearner):
        return "batch"
    # a learner from outside tidal's base classes (a wrapper, a user's own) carries no tags
    if getattr(getattr(last, "_tags", None), "baseline", False):
        return "baseline"
    return "online"


class CostMeter:
    """Cost counters of one learner in one run (see the module docstring for the rules).

    >>> import numpy as np
    >>> from tidal.dummy import MajorityClassifier
    >>> m = MajorityClassifier()
    >>> meter = CostMeter(m, delay=3)
    >>> meter.summary()["staleness_mean"], meter.summary()["staleness_incl_delay"]
    (0.0, 3.0)
    """

    def __init__(self, learner: Any, delay: int = 0) -> None:
        self.learner = learner
        self.delay = int(delay)
        self.family = family(learner)
        self._batches: list[Any] | None = None
        self.predict_cpu = 0.0
        self.predicted = 0
        self.sampled_cpu = 0.0
        self.sampled_rows = 0
        self.stale_sum = 0.0
        self.stale_n = 0
        self._samples = 0

    def batches(self) -> list[Any]:
        # composites build their members at the first row: look them up once they exist
        if self._batches is None or (not self._batches and self.family in ("batch", "hybrid")):
            self._batches = nested_batch(self.learner)
        return self._batches

    def settle(self) -> None:
        """Wait for the trainings this learner started (call it inside the timed region)."""
        for b in self.batches():
            if vars(b).get("_pending"):
                b._wait_all()

    def after(self, kind: str, n: int, seconds: float) -> None:
        """Book a call that took ``seconds`` of CPU on ``n`` rows."""
        if kind != "predict":
            return
        self.predict_cpu += seconds
        self.predicted += n
        if self.family == "batch":
            b = self.batches()[0]
            # a predict-only call serves every row with the model live at its start; before
            # the first label nothing has arrived, so nothing is missed
            if "_first" in vars(b):
                self.stale_sum += n * max(b.n_learned_ - b.serving_rows_[1], 0)
            self.stale_n += n

    def sample_latency(self, block: Any, classifier: bool) -> None:
        """Time a predict-only call on (the last 256 rows of) ``block``, every 4th call (the
        timing costs the engine a predict per sample; test-then-train runs have no other)."""
        self._samples += 1
        if self.predicted or self._samples % 4 != 1 or not getattr(self.learner, "is_fitted", True):
            return
        if len(block) > _SAMPLE_ROWS:
            block = block.slice(len(block) - _SAMPLE_ROWS, len(block))
        start = time.process_time()
        if classifier:
            self.learner.predict_proba_many(block)
        else:
            self.learner.predict_many(block)
        self.sampled_cpu += time.process_time() - start
        self.sampled_rows += len(block)

    def _staleness(self) -> float | None:
        if self.family != "batch":
            if self.family == "hybrid" and self.batches() and not _is_hybrid(self.learner):
                return None
            return 0.0
        b = self.batches()[0]
        n = b.n_served_ + self.stale_n
        return (b.staleness_sum_ + self.stale_sum) / n if n else 0.0

    def summary(self) -> dict[str, Any]:
        """The cost columns of the learner's row in the results."""
        # a batch learner whose first block was refused never started: it kept and trained nothing
        batches = [b for b in self.batches() if b.is_fitted]
        for b in batches:
            b.flush()  # bytes kept are measured on disk
        stale = self._staleness() if batches or self.family != "batch" else None
        if self.predicted:
            latency = self.predict_cpu / self.predicted
        elif self.sampled_rows:
            latency = self.sampled_cpu / self.sampled_rows
        else:
            latency = float("nan")
        return {
            "family": self.family,
            "bytes_kept": int(sum(b.bytes_kept_ for b in batches)),
            "retrains": int(sum(b.n_retrains_ for b in batches)),
            "train_s": float(sum(b.train_seconds_total_ for b in batches)),
            "train_cpu_s": float(sum(sum(b.train_cpu_seconds_) for b in batches)),
            "staleness_mean": stale,
            "staleness_incl_delay": None if stale is None else stale + self.delay,
            "latency_s_per_row": latency,
        }


def _is_hybrid(learner: Any) -> bool:
    from tidal.batch import Hybrid

    last = learner._step_list()[-1] if hasattr(learner, "_step_list") else learner
    return isinstance(last, Hybrid)


def engine_row(
    rows: list[dict[str, Any]], total_cpu: float, wall_s: float, compile_cpu: float = 0.0
) -> dict[str, Any]:
    """The engine's own overhead: the run's process CPU time the learners were not charged.

    ``total_cpu`` and ``wall_s`` exclude compilation (the warm-up, and kernels first reached
    later), which is booked apart as ``compile_cpu_s``: learners + engine + compile add up to
    the process CPU time of the call.

    >>> engine_row([{"cpu_s": 1.0}, {"cpu_s": 0.5}], 2.0, 3.0)["cpu_s"]
    0.5
    """
    learners = sum(float(r.get("cpu_s", 0.0)) for r in rows)
    return {
        "learner": "engine",
        "family": "engine",
        "cpu_s": max(total_cpu - learners, 0.0),
        "run_cpu_s": total_cpu,
        "run_wall_s": wall_s,
        "compile_cpu_s": compile_cpu,
    }


def per_row_errors(y: np.ndarray, y_pred: np.ndarray, classifier: bool) -> np.ndarray:
    """The headline metric's per-row losses: 0/1 mistakes (classification, no prediction
    counts as a mistake) or absolute errors (``row_losses`` of :func:`tidal.metrics.headline`).

    Kept for every row of the run (the recovery analysis needs them): one byte per row for a
    classifier, four for a regressor.

    >>> per_row_errors(np.array([1, 0]), np.array([1, None], dtype=object), True).tolist()
    [0, 1]
    """
    return headline("multiclass" if classifier else "regression").cls.row_losses(y, y_pred)
