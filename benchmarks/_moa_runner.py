"""MOA side of benchmarks/bench_trees.py: runs inside its own venv (capymoa), never imports tidal.

Started by the benchmark as a subprocess; speaks JSON lines. The first line it prints is
``{"ready": true, ...}`` (versions); then, for each request line on stdin

    {"arff": PATH, "learner": "HT", "seed": 0, "config": "capymoa", "predictions": PATH}

it prints one reply line: accuracy, wall and CPU seconds of the learning loop, the learner's
serialized size at the end, its MOA command line, and writes the predictions (int8, .npy)
where asked. A line ``{"quit": true}`` or the end of stdin stops it.

The timed loop is MOA's own Java loop (``EfficientEvaluationLoops.PrequentialEvaluation``, the
one CapyMOA's ``prequential_evaluation`` uses for MOA learners), over the rows held in memory
(``CachedInstancesStream``): one Python -> Java call per run, so neither per-row bridging nor
ARFF parsing is measured. The first run of each learner on each file is preceded by a warm-up
run on the first ``WARMUP`` rows (JIT compilation), which is not timed.
"""

from __future__ import annotations

import json
import sys
import time
import traceback

import numpy as np

WARMUP = 20_000


def _instances(path: str):  # noqa: ANN202 -- Java objects
    from capymoa.stream import ARFFStream
    from com.yahoo.labs.samoa.instances import Instances

    stream = ARFFStream(path=path)
    moa_stream = stream.get_moa_stream()
    moa_stream.restart()
    data = Instances(moa_stream.getHeader(), 0)
    while moa_stream.hasMoreInstances():
        data.add(moa_stream.nextInstance().getData())
    return stream.get_schema(), data


def _learner(name: str, schema, seed: int, config: str):  # noqa: ANN001, ANN202
    """A capymoa learner: capymoa's wrapper defaults (``config="capymoa"``, the configuration of
    the reference numbers in /work/shared/data/README.md) or the bare MOA class defaults
    (``config="moa"``); ensembles get 10 members either way, kNN a window of 1,000 and 5
    neighbours (tidal's and River's default)."""
    from capymoa import classifier as c

    if config == "moa":
        from capymoa.base import MOAClassifier
        from jpype import JClass

        classes = {
            "HT": ("moa.classifiers.trees.HoeffdingTree", ""),
            "HAT": ("moa.classifiers.trees.HoeffdingAdaptiveTree", ""),
            "ARF": ("moa.classifiers.meta.AdaptiveRandomForest", "-s 10"),
            "LB": ("moa.classifiers.meta.LeveragingBag", "-s 10"),
            "KNN": ("moa.classifiers.lazy.kNN", "-k 5 -w 1000"),
        }
        cls, cli = classes[name]
        return MOAClassifier(schema=schema, moa_learner=JClass(cls)(), CLI=cli, random_seed=seed)
    if name == "HT":
        return c.HoeffdingTree(schema=schema)
    if name == "HAT":
        return c.HoeffdingAdaptiveTree(schema=schema, random_seed=seed)
    if name == "ARF":
        return c.AdaptiveRandomForestClassifier(schema=schema, ensemble_size=10, random_seed=seed)
    if name == "LB":
        return c.LeveragingBagging(schema=schema, ensemble_size=10, random_seed=seed)
    if name == "KNN":
        return c.KNN(schema=schema, k=5, window_size=1000)
    raise ValueError(f"learner {name!r}: expected one of HT, HAT, ARF, LB, KNN")


def _loop(learner, schema, data, rows: int):  # noqa: ANN001, ANN202
    from capymoa.evaluation.evaluation import (
        ClassificationEvaluator,
        ClassificationWindowedEvaluator,
    )
    from moa.evaluation import EfficientEvaluationLoops
    from moa.streams import CachedInstancesStream

    stream = CachedInstancesStream(data)
    basic = ClassificationEvaluator(schema=schema)
    windowed = ClassificationWindowedEvaluator(schema=schema, window_size=10_000)
    t, c = time.perf_counter(), time.process_time()
    result = EfficientEvaluationLoops.PrequentialEvaluation(
        stream,
        learner.moa_learner,
        basic.moa_basic_evaluator,
        windowed.moa_evaluator,
        rows,
        10_000,
        True,
        True,
    )
    wall, cpu = time.perf_counter() - t, time.process_time() - c
    return result, wall, cpu


def _serialized_bytes(learner) -> int:  # noqa: ANN001
    """The learner's size as Java serialization writes it (MOA saves models this way). The
    SizeOf agent MOA ships undercounts under Java 17 (it cannot open the JDK's collections),
    and heap deltas around a full GC are not repeatable."""
    from java.io import ByteArrayOutputStream, ObjectOutputStream

    buf = ByteArrayOutputStream()
    out = ObjectOutputStream(buf)
    out.writeObject(learner)
    out.close()
    return int(buf.size())


def main() -> None:
    import capymoa
    import jpype

    java = str(jpype.java.lang.System.getProperty("java.version"))
    print(json.dumps({"ready": True, "capymoa": capymoa.__version__, "java": java}), flush=True)
    files: dict[str, tuple] = {}
    warm: set[tuple[str, str, str]] = set()
    for line in sys.stdin:
        req = json.loads(line)
        if req.get("quit"):
            break
        try:
            path, name, config = req["arff"], req["learner"], req.get("config", "capymoa")
            if path not in files:
                files[path] = _instances(path)
            schema, data = files[path]
            n = int(data.numInstances())
            if (path, name, config) not in warm:
                _loop(_learner(name, schema, 12345, config), schema, data, min(n, WARMUP))
                warm.add((path, name, config))
            learner = _learner(name, schema, int(req.get("seed", 0)), config)
            result, wall, cpu = _loop(learner, schema, data, -1)
            pred = np.array(list(result.predictions), dtype=np.int8)
            truth = np.array(list(result.targets), dtype=np.int8)
            if req.get("predictions"):
                np.save(req["predictions"], pred)
            reply = {
                "rows": n,
                "accuracy": float((pred == truth).mean()),
                "seconds": wall,
                "cpu_seconds": cpu,
                "model_bytes": _serialized_bytes(learner.moa_learner),
                "cli": str(
                    learner.moa_learner.getCLICreationString(learner.moa_learner.getClass())
                ),
            }
        except Exception as err:  # the benchmark shows the error and carries on without MOA
            reply = {"error": f"{type(err).__name__}: {err}", "trace": traceback.format_exc()}
        print(json.dumps(reply), flush=True)


if __name__ == "__main__":
    main()
