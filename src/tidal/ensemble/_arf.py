"""Adaptive Random Forest classifier (Gomes et al., 2017), compiled."""

from __future__ import annotations

from typing import Any, ClassVar

from tidal._kernels import ensemble_forest as E
from tidal.base import ParameterError, Tags, parameters
from tidal.ensemble._forest import TreeEnsemble
from tidal.ensemble._members import ARFMembers, ARFTreeDefaults
from tidal.tree.base import ClassifierTreeParams, with_river_nb

__all__ = ["ARFClassifier"]


@parameters
class ARFClassifier(ARFTreeDefaults, ClassifierTreeParams, ARFMembers, TreeEnsemble):
    """Adaptive Random Forest: Hoeffding trees on Poisson-resampled rows and random feature
    subspaces, each with a warning and a drift detector; a warning starts a background tree,
    a drift replaces the tree by it.

    River 0.26.1's ``forest.ARFClassifier`` algorithm, parameters and update order:
    for each member, predict the row, update the member's accuracy, draw ``k ~
    Poisson(lambda_value)`` and, when ``k > 0``, learn the row with weight ``k`` (background
    tree first), then feed "the member was wrong" to the warning detector (ADWIN, delta 0.01)
    and the drift detector (ADWIN, delta 0.001). Each leaf monitors ``max_features`` features
    drawn at random the first time it learns. The vote adds each member's probabilities
    weighted by its accuracy since it was last replaced.

    Two defaults are MOA's instead of River's (``river_params`` restores River's): each leaf
    monitors 60 % of the features (River: the square root of their number) and the leaves'
    naive Bayes is MOA's (``nb_likelihood="moa"``, see :class:`tidal.tree.HoeffdingTreeClassifier`).
    On Elec2 (6 features: 4 monitored instead of 2), mean of 5 seeds: 0.854 -> 0.874.

    The random numbers come from tidal's own generator (keyed by seed, member and row), so the
    trees differ from River's for the same seed; results never depend on the block size or on
    the number of threads. Members are updated in parallel (numba threads).

    Parameters
    ----------
    n_models
        Number of trees.
    max_features
        Features monitored per leaf: an int, a float (share of the features, rounded to the
        nearest as MOA's ``-m`` percentage; River truncates, so pass River's int to reproduce
        it), ``"sqrt"``, ``"log2"`` (both rounded, as River) or ``None`` (all).
    lambda_value
        Rate of the Poisson resampling weights.
    disable_weighted_vote
        Add the members' probabilities unweighted.
    warning_delta, drift_delta
        Confidence of the ADWIN warning and drift detectors (``None`` disables warnings, and
        so background trees; ``drift_delta=None`` disables tree replacement).
    grace_period, max_depth, split_criterion, delta, tau, leaf_prediction, nb_threshold,
    nominal_attributes, splitter, binary_split, min_branch_fraction, max_share_to_split,
    max_size, memory_estimate_period, stop_mem_management, remove_poor_attrs, merit_preprune,
    nb_likelihood
        The trees' parameters (see :class:`tidal.tree.HoeffdingTreeClassifier`; the defaults
        are River's and MOA's ARF defaults: grace period 50, delta 0.01, besides
        ``nb_likelihood``).
    seed
        Seed of the random numbers (``None``: a fresh random seed).

    Examples
    --------
    >>> import numpy as np
    >>> from tidal.ensemble import ARFClassifier
    >>> rng = np.random.default_rng(0)
    >>> X = rng.random((4000, 4))
    >>> y = (X[:, 0] + X[:, 1] > 1).astype(int)
    >>> model = ARFClassifier(n_models=5, seed=1)
    >>> pred = model.step_many(X, y)  # predict each row, then learn it
    >>> bool((pred[2000:] == y[2000:]).mean() > 0.9)
    True
    >>> len(model.n_nodes)
    5
    """

    _tags = Tags(task="multiclass", handles_categorical=True, handles_missing=True, stochastic=True)
    _mode = E.MODE_ARF
    _trees_per_member = 2
    #: The parameters whose defaults differ from River's, at River's values.
    river_params: ClassVar[dict[str, Any]] = {"max_features": "sqrt", "nb_likelihood": "river"}

    max_features: int | float | str | None = 0.6
    disable_weighted_vote: bool = False

    @classmethod
    def _unit_test_params(cls):  # noqa: ANN206
        yield {"n_models": 3, "grace_period": 20, "seed": 42}

    def _check_params(self) -> None:
        self._check_arf()
        self._ht()._check_params()
        if not self.lambda_value > 0:
            raise ParameterError(f"lambda_value == {self.lambda_value!r}, must be > 0")

    def load_state(self, state: dict[str, Any]) -> ARFClassifier:
        """Restore a :meth:`state_dict` (parameters included). Returns self."""
        return super().load_state(with_river_nb(state))

    def _lambda(self) -> float:
        return float(self.lambda_value)

    def _weighted(self) -> bool:
        return not self.disable_weighted_vote
