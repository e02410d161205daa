"""Hoeffding tree regressor: River's algorithm in one compiled loop per block."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

import numpy as np

from tidal._kernels import tree_regressor as K
from tidal._kernels.tree_regressor_ebst import EM_HEAD, EM_NEXT, EM_NFREE, N_EM
from tidal.base import Regressor, Tags, parameters
from tidal.tree.base import BlockInputs, HoeffdingTree, RegressorTreeParams, pad_keys

__all__ = ["HoeffdingTreeRegressor"]


@parameters
class HoeffdingTreeRegressor(RegressorTreeParams, HoeffdingTree, Regressor):
    """Hoeffding tree regressor (FIMT-style, variance reduction), compiled.

    The same algorithm, parameters and defaults as River 0.26.1's ``tree.HoeffdingTreeRegressor``
    with its default splitters (``TEBSTSplitter`` for numeric features: an extended binary
    search tree over the values rounded to one decimal, with FIMT-DD's pruning of bad
    candidates; ``NominalSplitterReg`` for categorical ones) and its default leaf model
    (``linear_model.LinearRegression()``: SGD with rate 0.01, squared loss). On the same stream
    it chooses the same splits and predicts the same values.

    Parameters
    ----------
    grace_period
        Weight a leaf must see between split attempts.
    max_depth
        Leaves at this depth stop growing (``None``: no limit).
    delta
        Significance of the Hoeffding bound (the split confidence is ``1 - delta``).
    tau
        Tie threshold: split anyway when the Hoeffding bound falls below it.
    leaf_prediction
        ``"mean"`` (target mean), ``"model"`` (a linear model per leaf, inherited by the
        children at a split) or ``"adaptive"`` (whichever of the two has the smaller decayed
        squared error at the leaf).
    model_selector_decay
        Decay of the squared errors that ``"adaptive"`` compares.
    nominal_attributes
        Names of numeric columns to treat as categories (string columns always are).
    splitter
        ``None`` or ``"tebst"``: River's truncated E-BST (values rounded to one decimal);
        ``"ebst"``: the E-BST on the exact values.
    min_samples_split
        Weight each branch of a candidate split must hold.
    binary_split
        Only binary splits (nominal features then split "value vs the rest").
    max_size
        Memory limit in MiB; when the estimate exceeds it, the deepest leaves are deactivated.
    memory_estimate_period
        Weight seen between two estimates of the tree's size.
    stop_mem_management
        Stop growing altogether once the memory limit is reached.
    remove_poor_attrs
        Drop the statistics of features that cannot win a split.
    merit_preprune
        Consider "no split" as a candidate (pre-pruning).

    Missing values (NaN) are skipped in the statistics and by the leaf models, and follow the
    branch holding the most weight. A category never seen in training follows "not equal" in a
    binary nominal split and the branch holding the most weight in a multiway one; in training,
    a new category opens a new branch of a multiway split. String columns are not inputs of the
    leaf models (River's linear model cannot take them); numeric columns declared nominal are,
    with their values. Rows with a weight <= 0 are not learned. The memory estimate counts the
    tree's arrays, not Python objects as River does, so with a small ``max_size`` the leaves
    deactivated can differ from River's.

    Examples
    --------
    >>> import numpy as np
    >>> from tidal.tree import HoeffdingTreeRegressor
    >>> rng = np.random.default_rng(0)
    >>> X = rng.random((2000, 2))
    >>> y = np.where(X[:, 0] > 0.5, 3.0, -1.0) + rng.normal(0, 0.1, 2000)
    >>> model = HoeffdingTreeRegressor(grace_period=100, leaf_prediction="mean", max_depth=1)
    >>> model = model.learn_many(X, y)
    >>> print(model.to_text())
    x0 <= 0.5: predicts -0.981 (n=1013, inactive)
    x0 > 0.5: predicts 3 (n=987, inactive)
    >>> model.predict_many(np.array([[0.2, 0.5], [0.8, 0.5]])).round(1).tolist()
    [-1.0, 3.0]
    """

    _tags = Tags(task="regression", handles_categorical=True, handles_missing=True)
    K = K
    LEAVES: ClassVar[dict[str, int]] = {"mean": 0, "model": 1, "adaptive": 2}
    ARRAYS = (
        "node_i", "node_f", "nstat", "disabled", "lm", "eroot", "rank", "nrank", "ncat",
        "slot_free", "ef", "ei", "emeta", "meta_i", "meta_f",
    )  # fmt: skip
    NODE_AXIS = ("node_i", "node_f", "nstat", "disabled", "lm")
    SLOT_AXIS = ("eroot", "rank", "nrank", "ncat", "slot_free")
    POOL_AXIS = ("ef", "ei")
    CATS = "ncat"
    FILL: ClassVar[dict[str, int]] = {"node_i": -1, "eroot": -1, "rank": -1, "ei": -1}

    @classmethod
    def _unit_test_params(cls) -> list[dict[str, Any]]:
        return [
            {"grace_period": 20},
            {"grace_period": 20, "leaf_prediction": "mean", "binary_split": True},
        ]

    # ------------------------------------------------------------------ parameters
    def _check_own(self, need: Callable[[bool, str, str], None]) -> None:
        need(0 <= self.model_selector_decay <= 1, "model_selector_decay", "in [0, 1]")
        need(self.splitter in (None, "tebst", "ebst"), "splitter", 'None, "tebst" or "ebst"')
        need(self.min_samples_split >= 0, "min_samples_split", ">= 0")

    def _own_params(self, pf: np.ndarray, pi: np.ndarray) -> None:
        pf[K.PF_MSS] = self.min_samples_split
        pf[K.PF_DECAY] = self.model_selector_decay
        pf[K.PF_LR] = 0.01
        pf[K.PF_ILR] = 0.01
        pf[K.PF_CLIP] = 1e12
        pi[K.PI_ROUND] = int(self.splitter != "ebst")

    # ------------------------------------------------------------------ state
    @classmethod
    def new_arrays(
        cls, lead: tuple[int, ...], Nn: int, Ns: int, F: int, J: int, C: int, P: int = 1024
    ) -> dict[str, np.ndarray]:
        emeta = np.zeros((*lead, N_EM), dtype=np.int64)
        emeta[..., EM_NEXT], emeta[..., EM_HEAD], emeta[..., EM_NFREE] = 0, -1, 0
        return {
            **cls.common_arrays(lead, Nn, Ns, F),
            "nstat": np.zeros((*lead, Nn, 3)),
            "lm": np.zeros((*lead, Nn, F + 1)),
            "eroot": np.full((*lead, Ns, F), -1, dtype=np.int64),
            "ncat": np.zeros((*lead, Ns, J, 1, 3)),
            "ef": np.zeros((*lead, P, 4)),
            "ei": np.full((*lead, P, 2), -1, dtype=np.int64),
            "emeta": emeta,
        }

    @classmethod
    def grow_pool(cls, arrays: dict[str, np.ndarray], lead: int) -> None:
        """Room in the E-BST pool for one row (a node per feature at most)."""
        em = arrays["emeta"].reshape(-1, N_EM)
        P, F = arrays["ef"].shape[lead], arrays["eroot"].shape[lead + 1]
        if (P - em[:, EM_NEXT] + em[:, EM_NFREE] < F).any():
            pad_keys(arrays, cls.POOL_AXIS, lead, max(P, F), cls.FILL)

    # ------------------------------------------------------------------ rendering
    def _leaf_text(self, k: int) -> str:
        n, mean, _ = self._tree["nstat"][k]
        state = "" if self._tree["node_i"][k, K.NI_ACTIVE] == 1 else ", inactive"
        return f"predicts {mean:.3g} (n={n:.6g}{state})"

    # ------------------------------------------------------------------ the kernel hook
    def _lm_use(self) -> np.ndarray:
        return np.array(
            [n not in self.categorical_features_ for n in self.feature_names_in_], dtype=np.uint8
        )

    def _block_args(self, inp: BlockInputs) -> tuple:
        cat_order = self._category_order(self._tree["ncat"].shape[2])
        return K.Settings(self._nom_idx, self._lm_use(), cat_order, *self._params_arrays())
