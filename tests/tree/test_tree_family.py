"""The Hoeffding tree family shares one base: the forests build on ``tidal.tree.base`` and the
public tree classes, never on a tree module's private names; the single trees and the forests
name, grow and save their arrays the same way."""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pytest

import tidal
from tidal._kernels import ensemble_forest as E
from tidal._kernels import ensemble_forest_regressor as ER
from tidal.ensemble import ARFClassifier, ARFRegressor, BaggingClassifier
from tidal.tree import (
    HoeffdingAdaptiveTreeClassifier,
    HoeffdingTreeClassifier,
    HoeffdingTreeRegressor,
)
from tidal.tree.base import HoeffdingTree

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
    # ARF's constructor repeats the tree's parameters (without n_splits): each reaches the trees
    names = ARFClassifier._tree_param_names()
    assert set(names) == set(HoeffdingTreeClassifier._get_param_names()) - {"n_splits"}
    model = ARFClassifier(grace_period=7, nb_likelihood="river", max_depth=3)
    ht = model._ht()
    assert (ht.grace_period, ht.nb_likelihood, ht.max_depth) == (7, "river", 3)
