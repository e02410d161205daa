"""Data-quality guards in front of learning: a schema, vectorised rules, a quarantine.

A :class:`Schema` is inferred from a sample (robust, growing numeric bounds — never the sample's
min/max), saved as editable JSON and read back with every field checked. A :class:`Guard` runs
the rules over each block and gives every row a verdict (0 pass, 1 repaired, 2 quarantined,
3 flagged); a jump in rejections pauses learning while it lasts, and a :class:`BurstDetector`
(a reference model of its own, no learner's) catches bursts of corrupted labels so that the
engine can roll every learner back to its state before the burst (:class:`BurstWatch`).
Quarantined rows go to a :class:`Quarantine` (SQLite) to be listed, shown, fixed, replayed
through a guard and purged.

>>> import pandas as pd
>>> from tidal import guards
>>> schema = guards.Schema.infer(pd.DataFrame({"x": [0.1, 0.2, 0.3], "y": ["a", "b", "a"]}), "y")
>>> guards.Guard(schema).check({"x": [0.2, None], "y": ["b", "b"]}).verdict.tolist()
[0, 2]
"""

from tidal.guards._burst import Burst, BurstDetector
from tidal.guards._guard import FLAGGED, PASS, QUARANTINED, REPAIRED, Guard, GuardResult
from tidal.guards._quarantine import DEFAULT_PATH, Quarantine, QuarantineError, ReplayResult
from tidal.guards._rule import Rule
from tidal.guards._rules import (
    InvalidLabel,
    Missing,
    Outlier,
    OutOfRange,
    UnseenCategory,
    WrongType,
    default_rules,
)
from tidal.guards._rules_stream import DuplicateId, LabelBurst, RejectBurst, TimestampOrder
from tidal.guards._schema import ColumnSpec, Schema, SchemaError, TargetSpec, infer_schema_from_path
from tidal.guards._watch import BurstWatch

__all__ = [
    "DEFAULT_PATH",
    "FLAGGED",
    "PASS",
    "QUARANTINED",
    "REPAIRED",
    "Burst",
    "BurstDetector",
    "BurstWatch",
    "ColumnSpec",
    "DuplicateId",
    "Guard",
    "GuardResult",
    "InvalidLabel",
    "LabelBurst",
    "Missing",
    "OutOfRange",
    "Outlier",
    "Quarantine",
    "QuarantineError",
    "RejectBurst",
    "ReplayResult",
    "Rule",
    "Schema",
    "SchemaError",
    "TargetSpec",
    "TimestampOrder",
    "UnseenCategory",
    "WrongType",
    "default_rules",
    "infer_schema_from_path",
]
