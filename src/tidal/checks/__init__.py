"""Conformance checks run over every learner (``tests/test_conformance.py``).

Each check is a plain function ``check_xxx(learner, dataset)`` that raises ``AssertionError``
with a message saying what differed. Which checks apply is decided by the learner's tags,
never by its class name.

>>> from tidal.dummy import MajorityClassifier
>>> m = MajorityClassifier()
>>> [c.__name__ for c in checks_for(m)][:3]
['check_clone', 'check_pickle_roundtrip_midstream', 'check_state_roundtrip_midstream']
>>> check_block_size_invariance(m, dataset_for(m))
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tidal.checks._datasets import Dataset, binary, dataset_for, multiclass, regression
from tidal.checks._discovery import SKIPPED_PACKAGES, all_learners, learner_cases, learner_classes
from tidal.checks._face_checks import check_classes_sorted, check_typed_predictions
from tidal.checks._input_checks import (
    check_categorical_input,
    check_empty_block,
    check_extra_or_missing_feature,
    check_nan_handling,
)
from tidal.checks._sklearn_checks import check_sklearn_face
from tidal.checks._state_checks import (
    check_clone,
    check_pickle_roundtrip_midstream,
    check_state_roundtrip_midstream,
    check_state_version_refused,
)
from tidal.checks._stream_checks import (
    check_block_size_invariance,
    check_learn_one_equals_learn_many,
    check_predict_before_learn,
    check_predict_changes_nothing,
    check_seed_determinism,
    check_shuffled_feature_order,
    check_step_proba_consistent,
)

__all__ = [
    "Dataset",
    "SKIPPED_PACKAGES",
    "all_learners",
    "binary",
    "check_block_size_invariance",
    "check_categorical_input",
    "check_classes_sorted",
    "check_clone",
    "check_empty_block",
    "check_extra_or_missing_feature",
    "check_learn_one_equals_learn_many",
    "check_nan_handling",
    "check_pickle_roundtrip_midstream",
    "check_predict_before_learn",
    "check_predict_changes_nothing",
    "check_seed_determinism",
    "check_shuffled_feature_order",
    "check_sklearn_face",
    "check_state_roundtrip_midstream",
    "check_state_version_refused",
    "check_step_proba_consistent",
    "check_typed_predictions",
    "checks_for",
    "dataset_for",
    "learner_cases",
    "learner_classes",
    "multiclass",
    "regression",
]

Check = Callable[[Any, Dataset], None]


def checks_for(learner: Any) -> list[Check]:
    """The checks that apply to ``learner``, chosen by its tags."""
    tags = learner._get_tags()
    checks: list[Check] = [
        check_clone,
        check_pickle_roundtrip_midstream,
        check_state_roundtrip_midstream,
        check_block_size_invariance,
        check_learn_one_equals_learn_many,
        check_shuffled_feature_order,
        check_nan_handling,
        check_extra_or_missing_feature,
        check_categorical_input,
        check_empty_block,
        check_state_version_refused,
        check_predict_before_learn,
        check_predict_changes_nothing,
        check_sklearn_face,
    ]
    if tags.stochastic:
        checks.append(check_seed_determinism)
    if tags.task != "transformer":
        checks.append(check_typed_predictions)
    if tags.is_classifier:
        checks += [check_step_proba_consistent, check_classes_sorted]
    return checks
