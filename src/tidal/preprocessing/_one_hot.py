"""Online one-hot encoding with a fixed output width."""

from __future__ import annotations

from typing import Any

import numpy as np

from tidal._kernels.preprocessing import one_hot_pair
from tidal.base import Tags
from tidal.base.validation import check_int
from tidal.preprocessing._base import PairTransformer

__all__ = ["OneHotEncoder"]


class OneHotEncoder(PairTransformer):
    """One indicator column per category of each text column; numeric columns pass through.

    Categories appear over time, but the learners after this step need a fixed number of
    inputs. So the output width is fixed when the feature set is: each categorical column gets
    ``max_categories`` indicator columns, ``name[0]``, ``name[1]``... for its first
    ``max_categories`` categories in order of first appearance, plus one ``name[other]`` column
    shared by every later category. This is exactly River's ``OneHotEncoder`` on the column
    with every category after the first ``max_categories`` renamed "other": at prediction time a
    value never learned lights ``name[other]`` once the named columns are all taken, and nothing
    before (River gives it a new feature, which no learner has a weight for yet). Missing values
    (None, NaN) are refused with the column and row, as by every learner that does not handle
    missing values. ``categories_`` lists the categories of the named columns.

    Text columns (strings) are categorical; the set is fixed by the first learn call.

    Parameters
    ----------
    max_categories
        Indicator columns per categorical column before the "other" column.

    >>> from tidal.preprocessing import OneHotEncoder
    >>> enc = OneHotEncoder(max_categories=2)
    >>> _ = enc.learn_many({"colour": ["red", "blue", "green"], "size": [1.0, 2.0, 3.0]})
    >>> enc.transform_one({"colour": "green", "size": 4.0})
    {'colour[0]': 0.0, 'colour[1]': 0.0, 'colour[other]': 1.0, 'size': 4.0}
    >>> enc.transform_one({"colour": "pink", "size": 4.0})["colour[other]"]
    1.0
    >>> OneHotEncoder().learn_one({"colour": "red"}).transform_one({"colour": "pink"})["colour[1]"]
    0.0
    >>> enc.categories_
    {'colour': ['red', 'blue']}
    """

    _tags = Tags(task="transformer", handles_categorical=True, unsupervised=True)

    def __init__(self, max_categories: int = 32) -> None:
        self.max_categories = max_categories

    def _check_params(self) -> None:
        k = self.max_categories
        check_int("max_categories", k, 1)

    def _layout(self) -> None:
        cats = self.categorical_features_
        self._is_cat = np.array([n in cats for n in self.feature_names_in_], dtype=np.bool_)
        widths = np.where(self._is_cat, int(self.max_categories) + 1, 1)
        self._offset = np.concatenate([[0], np.cumsum(widths)[:-1]]).astype(np.int64)
        self._width = int(widths.sum())

    def _init_state(self) -> None:
        self._layout()
        self._n_learned = np.zeros(self.n_features_in_)

    def _state_dict(self) -> dict[str, Any]:
        return {"n_learned": self._n_learned.copy()}

    def _load_state(self, state: dict[str, Any]) -> None:
        self._layout()
        self._n_learned = np.array(state["n_learned"], dtype=np.float64)

    def _output_names(self) -> tuple[str, ...]:
        names: list[str] = []
        for name, cat in zip(self.feature_names_in_, self._is_cat):
            if cat:
                names += [f"{name}[{k}]" for k in range(int(self.max_categories))]
                names.append(f"{name}[other]")
            else:
                names.append(name)
        return tuple(names)

    @property
    def categories_(self) -> dict[str, list[Any]]:
        """For each categorical column, the categories of its indicator columns, in order."""
        out = {}
        for j, name in enumerate(self.feature_names_in_):
            if self._is_cat[j]:
                table = list(self._categories.codes.get(name, {}))
                n = min(int(self._n_learned[j]), int(self.max_categories))
                out[name] = [v.item() if isinstance(v, np.generic) else v for v in table[:n]]
        return out

    def _transform_pair(
        self, X_pred: np.ndarray | None, X_learn: np.ndarray | None
    ) -> tuple[np.ndarray | None, np.ndarray | None]:
        Xp, Xl, Op, Ol = self._outputs(X_pred, X_learn, self._width, 0.0)
        do_pred, do_learn = X_pred is not None, X_learn is not None
        one_hot_pair(
            Xp, Xl, Op, Ol, do_pred, do_learn,
            self._is_cat, self._offset, int(self.max_categories), self._n_learned,
        )  # fmt: skip
        return (Op if do_pred else None), (Ol if do_learn else None)
