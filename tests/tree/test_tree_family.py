"""The Hoeffding tree family shares one base: the forests build on ``tidal.tree.base`` and the
public tree classes, never on a tree module's private names; the single trees and the forests
name, grow and save their arrays the same way, and take the parameters declared once for them
(``tidal.tree.base.TreeParams`` and its groups, ``tidal.ensemble._members.ForestParams``...)."""

from __future__ import annotations

import ast
import dataclasses
import inspect
import re
from pathlib import Path

import numpy as np
import pytest

import tidal
from tidal._kernels import ensemble_forest as E
from tidal._kernels import ensemble_forest_regressor as ER
from tidal.ensemble import (
    ARFClassifier,
    ARFRegressor,
    BaggingClassifier,
    LeveragingBaggingClassifier,
)
from tidal.ensemble._members import ARFParams, ARFTreeDefaults, ForestParams
from tidal.tree import (
    HoeffdingAdaptiveTreeClassifier,
    HoeffdingTreeClassifier,
    HoeffdingTreeRegressor,
)
from tidal.tree.base import ClassifierTreeParams, HoeffdingTree, RegressorTreeParams, TreeParams

ENSEMBLE = Path(tidal.__file__).parent / "ensemble"


def _private_tree_imports(path: Path) -> list[str]:
    """``from tidal.tree._x import ...`` and imports of private names from ``tidal.tree``."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("tidal.tree"):
            parts = node.module.split(".")
            private_names = [a.name for a in node.names if a.name.startswith("_")]
            if any(p.startswith("_") for p in parts) or private_names:
                found.append(f"{path.name}: from {node.module} import {private_names or '...'}")
    return found


def test_ensembles_use_no_private_tree_module_or_name():
    found = [f for p in sorted(ENSEMBLE.glob("*.py")) for f in _private_tree_imports(p)]
    assert found == []


@pytest.mark.parametrize(
    "cls", [HoeffdingTreeClassifier, HoeffdingTreeRegressor, HoeffdingAdaptiveTreeClassifier]
)
def test_every_tree_is_a_hoeffding_tree_with_its_arrays_named_once(cls):
    assert issubclass(cls, HoeffdingTree)
    # every array the kernel takes grows along one axis, and only arrays it takes do
    axes = (*cls.NODE_AXIS, *cls.SLOT_AXIS, *cls.POOL_AXIS)
    assert sorted(axes) == sorted(set(axes))
    assert set(axes) <= set(cls.ARRAYS)
    assert set(cls.ARRAYS) - set(axes) == {"meta_i", "meta_f"} | ({"emeta"} & set(cls.ARRAYS))
    arrays = cls.new_arrays((), 4, 3, 2, 1, 2)
    assert set(arrays) == set(cls.ARRAYS)


@pytest.mark.parametrize(
    ("forest", "tree"),
    [
        (ARFClassifier(n_models=2, seed=1), HoeffdingTreeClassifier),
        (BaggingClassifier(n_models=2, seed=1), HoeffdingTreeClassifier),
        (ARFRegressor(n_models=2, seed=1), HoeffdingTreeRegressor),
    ],
)
def test_a_forest_holds_its_tree_class_arrays_with_a_tree_axis(forest, tree):
    rng = np.random.default_rng(0)
    X = rng.random((50, 3))
    y = (X[:, 0] > 0.5).astype(int)
    forest.learn_many(X, y)
    one = tree().learn_many(X, y)
    assert set(forest._forest) == {*tree.ARRAYS, "sub"}
    for k in tree.ARRAYS:
        assert forest._forest[k].ndim == one._tree[k].ndim + 1, k
        assert forest._forest[k].dtype == one._tree[k].dtype, k


@pytest.mark.parametrize(
    "cls", [HoeffdingTreeClassifier, HoeffdingTreeRegressor, HoeffdingAdaptiveTreeClassifier]
)
def test_the_kernel_takes_every_state_array_once_by_its_name(cls):
    # the kernel's named structures are built from the state by their field names
    model = cls(grace_period=5).learn_many(np.eye(6)[:, :2], np.arange(6) % 2)
    names = [name for structure in cls.K.STATE for name in structure._fields]
    assert sorted(names) == sorted(model._tree)


@pytest.mark.parametrize(
    ("forest", "kernel"),
    [(ARFClassifier(n_models=2, seed=1), E), (ARFRegressor(n_models=2, seed=1), ER)],
)
def test_a_forest_kernel_takes_every_tree_array_once_by_its_name(forest, kernel):
    forest.learn_many(np.eye(6)[:, :2], np.arange(6) % 2)
    assert sorted(kernel.ForestArrays._fields) == sorted(forest._forest)


def test_forest_members_get_every_tree_parameter_the_forest_has():
    # ARF takes the tree's parameters (without n_splits): each reaches the trees
    names = ARFClassifier._tree_param_names()
    assert set(names) == set(HoeffdingTreeClassifier._get_param_names()) - {"n_splits"}
    model = ARFClassifier(grace_period=7, nb_likelihood="river", max_depth=3)
    ht = model._ht()
    assert (ht.grace_period, ht.nb_likelihood, ht.max_depth) == (7, "river", 3)


# The family's constructors, written out rather than read from the shared declarations: a
# default changed in a group, or declared again in one class, or a parameter lost, fails here.
_EVERY_TREE = {
    "grace_period": 200,
    "max_depth": None,
    "tau": 0.05,
    "nominal_attributes": None,
    "splitter": None,
    "binary_split": False,
    "memory_estimate_period": 1_000_000,
    "stop_mem_management": False,
    "remove_poor_attrs": False,
    "merit_preprune": True,
}
_CLASSIFIER_TREE = {
    **_EVERY_TREE,
    "delta": 1e-3,
    "leaf_prediction": "nba",
    "max_size": 100.0,
    "split_criterion": "info_gain",
    "nb_threshold": 0,
    "min_branch_fraction": 0.01,
    "max_share_to_split": 0.99,
    "nb_likelihood": "moa",
}
_REGRESSOR_TREE = {
    **_EVERY_TREE,
    "delta": 1e-7,
    "leaf_prediction": "adaptive",
    "max_size": 500.0,
    "model_selector_decay": 0.95,
    "min_samples_split": 5,
}
_ARF_TREES = {"grace_period": 50, "delta": 0.01, "memory_estimate_period": 2_000_000}
_FOREST = {"n_models": 10, "seed": None}
_ARF = {**_FOREST, "lambda_value": 6, "warning_delta": 0.01, "drift_delta": 0.001}
_SIGNATURES = {
    HoeffdingTreeClassifier: {**_CLASSIFIER_TREE, "n_splits": 10},
    HoeffdingAdaptiveTreeClassifier: {
        **_CLASSIFIER_TREE,
        "n_splits": 10,
        "bootstrap_sampling": True,
        "drift_window_threshold": 300,
        "switch_significance": 0.05,
        "seed": None,
    },
    HoeffdingTreeRegressor: _REGRESSOR_TREE,
    ARFClassifier: {
        **_CLASSIFIER_TREE,
        **_ARF_TREES,
        **_ARF,
        "max_features": 0.6,
        "disable_weighted_vote": False,
    },
    ARFRegressor: {
        **_REGRESSOR_TREE,
        **_ARF_TREES,
        **_ARF,
        "max_features": "sqrt",
        "disable_weighted_vote": True,
        "aggregation_method": "median",
    },
    BaggingClassifier: {**_FOREST, "model": None},
    LeveragingBaggingClassifier: {
        **_FOREST,
        "model": None,
        "w": 6,
        "adwin_delta": 0.002,
        "bagging_method": "bag",
    },
}
_GROUPS = (
    TreeParams,
    ClassifierTreeParams,
    RegressorTreeParams,
    ForestParams,
    ARFParams,
    ARFTreeDefaults,
)


def _typed(values: dict) -> dict:
    return {k: (type(v), v) for k, v in values.items()}


@pytest.mark.parametrize("cls", list(_SIGNATURES), ids=lambda c: c.__name__)
def test_each_constructor_takes_its_parameters_by_keyword_with_the_family_defaults(cls):
    params = inspect.signature(cls).parameters
    assert _typed({n: p.default for n, p in params.items()}) == _typed(_SIGNATURES[cls])
    assert {p.kind for p in params.values()} == {inspect.Parameter.KEYWORD_ONLY}


@pytest.mark.parametrize(
    ("forest", "tree"),
    [(ARFClassifier, HoeffdingTreeClassifier), (ARFRegressor, HoeffdingTreeRegressor)],
)
def test_a_forest_gives_its_trees_the_tree_defaults_but_river_s_arf_ones(forest, tree):
    ours = {n: p.default for n, p in inspect.signature(forest).parameters.items()}
    trees = {n: p.default for n, p in inspect.signature(tree).parameters.items()}
    assert {n for n in trees if n in ours and ours[n] != trees[n]} == set(_ARF_TREES)
    assert set(trees) - set(ours) <= {"n_splits"}


def _inherited_fields(cls: type) -> dict[str, dataclasses.Field]:
    """The fields ``cls`` would have without its own declarations (dataclasses' rule)."""
    fields: dict[str, dataclasses.Field] = {}
    for base in reversed(cls.__mro__[1:]):
        fields.update(getattr(base, "__dataclass_fields__", {}))
    return fields


@pytest.mark.parametrize("cls", [*_GROUPS, *_SIGNATURES], ids=lambda c: c.__name__)
def test_a_parameter_is_declared_again_only_to_change_its_default_or_type(cls):
    inherited = _inherited_fields(cls)
    again = [n for n in vars(cls).get("__annotations__", {}) if n in inherited]
    own = cls.__dataclass_fields__
    same = [
        n
        for n in again
        if (own[n].default, own[n].type) == (inherited[n].default, inherited[n].type)
    ]
    assert same == [], f"{cls.__name__} declares {same} again as inherited"


def _documented(cls: type) -> set[str]:
    """Names on the parameter lines of a class docstring (``name`` or ``a, b,`` alone)."""
    doc = inspect.getdoc(cls).split("Examples\n--------")[0]
    lines = re.findall(r"^[a-z_]+(?:, [a-z_]+)*,?$", doc, flags=re.MULTILINE)
    return {name for line in lines for name in re.findall(r"[a-z_]+", line)}


@pytest.mark.parametrize("cls", list(_SIGNATURES), ids=lambda c: c.__name__)
def test_the_docstring_describes_every_parameter(cls):
    documented = _documented(cls)
    if cls is HoeffdingAdaptiveTreeClassifier:  # "the HoeffdingTreeClassifier's, plus:"
        documented |= _documented(HoeffdingTreeClassifier)
    assert set(inspect.signature(cls).parameters) <= documented
