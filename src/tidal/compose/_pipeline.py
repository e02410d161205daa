"""Pipelines: transformers then a final learner, run block-wise with exact per-row semantics.

The protocol (what a step must offer):

* every step is a tidal :class:`~tidal.base.Learner`; all but the last are transformers;
* the first step reads the raw input (``_matrix``): it fixes the feature set, checks every value
  (naming column and row) and encodes categorical columns; the pipeline's input tags
  (``handles_categorical``, ``handles_missing``) are those of the first step;
* each later step's feature set is the previous step's ``_output_names()``, fixed when the
  pipeline's is; transformers therefore have a fixed output width;
* a block goes through the transformers as a *pair* of matrices: ``X_pred`` (row ``i``
  transformed with each step's state before it learned row ``i``) and ``X_learn`` (after), which
  is River's ``Pipeline.learn_one`` order. A transformer implements
  ``_transform_pair(X_pred, X_learn) -> (O_pred, O_learn)`` (see
  :class:`tidal.preprocessing._base.PairTransformer`); one with only ``_transform_arrays`` works
  too (in one call when it is the first step, row by row otherwise);
* the final learner's ``_step_arrays(X_pred, X_learn, y, w, out)`` is called once per block.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np

from tidal.base import (
    Classifier,
    Learner,
    NotFittedError,
    ParameterError,
    Regressor,
    Rows,
    SchemaMismatchError,
    Tags,
    Transformer,
)

__all__ = ["Pipeline", "ClassifierPipeline", "RegressorPipeline", "TransformerPipeline"]

Pair = tuple[np.ndarray | None, np.ndarray | None]


def _unwrap(item: Any) -> tuple[str | None, Any]:
    if isinstance(item, tuple | list) and len(item) == 2 and isinstance(item[0], str):
        return item[0], item[1]
    return None, item


def _face(steps: Sequence[Any]) -> type[Pipeline]:
    last = _unwrap(steps[-1])[1] if len(steps) else None
    if isinstance(last, Classifier):
        return ClassifierPipeline
    if isinstance(last, Regressor):
        return RegressorPipeline
    return TransformerPipeline


class _PipelineTags:
    """``_tags`` computed from the steps (the class alone gets its face's defaults)."""

    def __get__(self, obj: Any, owner: type) -> Tags:
        if obj is None:
            return owner._face_tags
        steps = obj._step_list()
        if not steps or not all(isinstance(s, Learner) for s in steps):
            return owner._face_tags
        first, last = steps[0]._tags, steps[-1]._tags
        return Tags(
            task=last.task,
            handles_categorical=first.handles_categorical,
            handles_missing=first.handles_missing,
            stochastic=any(s._tags.stochastic for s in steps),
            batch=any(s._tags.batch for s in steps),
            unsupervised=last.unsupervised,
        )


class _GetTags:
    """``_get_tags()`` that answers for the instance when there is one (tags depend on steps)."""

    def __get__(self, obj: Any, owner: type) -> Any:
        return (lambda: owner._face_tags) if obj is None else (lambda: obj._tags)


def _transform_pair(step: Any, P: np.ndarray | None, L: np.ndarray | None) -> Pair:
    if hasattr(step, "_transform_pair"):
        return step._transform_pair(P, L)
    if L is None:
        return step._transform_arrays(P, False)[0], None
    if P is None:
        return None, step._transform_arrays(L, True)[1]
    if P is L:
        return step._transform_arrays(L, True)
    # the two inputs differ: keep the per-row order by going one row at a time
    p_rows, l_rows = [], []
    for i in range(L.shape[0]):
        p_rows.append(step._transform_arrays(P[i : i + 1], False)[0])
        l_rows.append(step._transform_arrays(L[i : i + 1], True)[1])
    return np.vstack(p_rows), np.vstack(l_rows)


class Pipeline(Learner):
    """Transformers then a final learner, used as one learner: ``StandardScaler() | GaussianNB()``.

    The pipeline takes the face of its last step: a classifier (``predict_proba_one``,
    ``classes_``...), a regressor, or, with transformers only, a transformer
    (``transform_one``). It is exactly River's ``compose.Pipeline`` row by row -- each row is
    predicted through the transformers' current state, then every transformer learns it and the
    final learner learns the row as transformed after that -- but it runs a whole block at a
    time: each transformer transforms the block once, then the final learner's compiled loop
    runs once. The first step fixes the feature set and checks the input, and a bad value leaves
    every step unchanged.

    Steps are learners, or ``(name, learner)`` pairs; default names are the class names.
    ``get_params``/``set_params`` use ``name__param`` (scikit-learn style), and
    ``state_dict`` nests the steps' states.

    >>> from tidal.compose import Pipeline
    >>> from tidal.naive_bayes import GaussianNB
    >>> from tidal.preprocessing import StandardScaler
    >>> model = StandardScaler() | GaussianNB()
    >>> model
    Pipeline(StandardScaler(), GaussianNB())
    >>> X = {"t": [20.0, 31.0, 19.0, 33.0, 22.0, 29.0], "h": [0.3, 0.8, 0.2, 0.9, 0.35, 0.7]}
    >>> model.step_many(X, ["dry", "wet"] * 3).tolist()  # predicted before learning each row
    ['', 'dry', 'dry', 'dry', 'dry', 'dry']
    >>> model.predict_proba_one({"t": 30.0, "h": 0.7})
    {'dry': 1.99...e-05, 'wet': 0.99998...}
    >>> Pipeline(("scale", StandardScaler()), ("nb", GaussianNB())).get_params()["scale__with_std"]
    True
    """

    _tags = _PipelineTags()  # type: ignore[assignment]
    _get_tags = _GetTags()  # type: ignore[assignment]
    _face_tags: ClassVar[Tags] = Tags(task="transformer")
    _abstract = True  # the conformance suite checks its faces, with steps

    def __new__(cls, *args: Any, steps: Sequence[Any] | None = None) -> Pipeline:
        if cls is Pipeline:
            cls = _face(steps if steps is not None else args)
        return object.__new__(cls)

    def __init__(self, *args: Any, steps: Sequence[Any] | None = None) -> None:
        if args and steps is not None:
            raise TypeError("give the steps either as arguments or as steps=[...], not both")
        self.steps = steps if steps is not None else args

    # steps -------------------------------------------------------------------
    def _named_steps(self) -> list[tuple[str, Any]]:
        out: list[tuple[str, Any]] = []
        seen: dict[str, int] = {}
        for item in self.steps:
            name, step = _unwrap(item)
            name = name or type(step).__name__
            seen[name] = seen.get(name, 0) + 1
            out.append((name if seen[name] == 1 else f"{name}{seen[name]}", step))
        return out

    def _step_list(self) -> list[Any]:
        # called several times per block: unwrap once per distinct steps sequence
        key = tuple(self.steps)
        hit = self.__dict__.get("_step_cache")
        if hit is None or hit[0] != key:
            hit = self.__dict__["_step_cache"] = (key, tuple(_unwrap(item)[1] for item in key))
        return list(hit[1])

    @property
    def named_steps(self) -> dict[str, Learner]:
        """The steps by name."""
        return dict(self._named_steps())

    def __repr__(self, N_CHAR_MAX: int = 700) -> str:
        return f"Pipeline({', '.join(repr(s) for s in self.steps)})"

    def __or__(self, other: Any) -> Pipeline:
        more = list(other.steps) if isinstance(other, Pipeline) else [other]
        return Pipeline(*self.steps, *more)

    def __ror__(self, other: Any) -> Pipeline:
        return Pipeline(other, *self.steps)

    def _check_params(self) -> None:
        steps = self._step_list()
        if not steps:
            raise ParameterError("Pipeline has no steps: give at least one learner")
        for i, step in enumerate(steps):
            if not isinstance(step, Learner):
                raise ParameterError(
                    f"Pipeline step {i} is {step!r} ({type(step).__name__}): expected a tidal "
                    "learner (wrap scikit-learn models in tidal's batch learners)"
                )
            if i < len(steps) - 1 and not isinstance(step, Transformer):
                raise ParameterError(
                    f"Pipeline step {i} ({type(step).__name__}) is not a transformer: only the "
                    "last step may be a classifier or regressor"
                )
        if _face(self.steps) is not type(self):
            raise ParameterError(
                f"Pipeline's last step {type(steps[-1]).__name__} does not match this "
                f"{type(self).__name__}; build a new Pipeline"
            )

    # parameters (scikit-learn's introspection cannot read *steps) -------------
    def get_params(self, deep: bool = True) -> dict[str, Any]:
        params: dict[str, Any] = {"steps": self.steps}
        if deep:
            for name, step in self._named_steps():
                params[name] = step
                for key, value in step.get_params(deep=True).items():
                    params[f"{name}__{key}"] = value
        return params

    def set_params(self, **params: Any) -> Pipeline:
        if "steps" in params:
            self.steps = params.pop("steps")
            Learner.reset(self)  # the chain of feature sets is fixed again on the next learn
        named = self._named_steps()
        index = {name: i for i, (name, _) in enumerate(named)}
        nested: dict[str, dict[str, Any]] = {}
        for key, value in params.items():
            name, _, sub = key.partition("__")
            if name not in index:
                raise ValueError(f"invalid parameter {key!r} for Pipeline: steps are {list(index)}")
            if sub:
                nested.setdefault(name, {})[sub] = value
            else:
                steps = list(self.steps)
                old_name, _ = _unwrap(steps[index[name]])
                steps[index[name]] = (old_name, value) if old_name else value
                self.steps = type(self.steps)(steps) if isinstance(self.steps, tuple) else steps
                Learner.reset(self)
        for name, sub_params in nested.items():
            dict(self._named_steps())[name].set_params(**sub_params)
        face = _face(self.steps) if len(self.steps) else type(self)
        if face is not type(self):
            Learner.reset(self)
            self.__class__ = face
        return self

    # state ---------------------------------------------------------------------
    def reset(self) -> Pipeline:
        super().reset()
        for step in self._step_list():
            if isinstance(step, Learner):
                step.reset()
        return self

    def _fitted_meta(self) -> dict[str, Any]:
        return {
            "feature_names": list(self.feature_names_in_),
            "n_samples_seen": float(self.n_samples_seen_),
        }

    def _load_fitted_meta(self, meta: dict[str, Any]) -> None:
        self.feature_names_in_ = tuple(meta["feature_names"])
        self.n_features_in_ = len(self.feature_names_in_)
        self.n_samples_seen_ = float(meta["n_samples_seen"])

    def _init_state(self) -> None:  # the steps hold all the state
        pass

    def _state_dict(self) -> dict[str, Any]:
        return {"steps": [step.state_dict() for step in self._step_list()]}

    def _load_state(self, state: dict[str, Any]) -> None:
        steps = self._step_list()
        if len(state["steps"]) != len(steps):
            from tidal.base import StateError

            raise StateError(f"state has {len(state['steps'])} steps, pipeline has {len(steps)}")
        for step, sub in zip(steps, state["steps"]):
            step.load_state(sub)

    # data flow -----------------------------------------------------------------
    def _matrix(self, X: Any, learn: bool) -> np.ndarray:
        if getattr(self, "feature_names_in_", None) is None:
            if not learn:
                raise NotFittedError(
                    f"This {self._name()} is not fitted yet; call learn_one, learn_many or fit "
                    "first"
                )
            self._check_params()
        steps = self._step_list()
        M = steps[0]._matrix(X, learn)
        if getattr(self, "feature_names_in_", None) is None:
            self._fix_chain(steps)
        return M

    def _fix_features(self, names: tuple[str, ...], cols: Any) -> None:
        # a pipeline nested as a later step of another one gets its feature set from there
        self._check_params()
        steps = self._step_list()
        if not steps[0].is_fitted:
            steps[0]._fix_features(names, cols)
        self._fix_chain(steps)

    def _fix_chain(self, steps: list[Learner]) -> None:
        first = steps[0]
        self.feature_names_in_ = tuple(first.feature_names_in_)
        self.n_features_in_ = len(self.feature_names_in_)
        self.n_samples_seen_ = 0.0
        for prev, step in zip(steps, steps[1:]):
            names = tuple(prev._output_names())
            if step.is_fitted:
                if tuple(step.feature_names_in_) != names:
                    raise SchemaMismatchError(
                        f"Pipeline: step {type(step).__name__} was fitted on features "
                        f"{list(step.feature_names_in_)}, but {type(prev).__name__} outputs "
                        f"{list(names)}"
                    )
            else:
                step._fix_features(names, None)

    def _chain(self, P: np.ndarray | None, L: np.ndarray | None, transformers: list) -> Pair:
        n = float((L if L is not None else P).shape[0])
        for step in transformers:
            P, L = _transform_pair(step, P, L)
            if L is not None:
                step.n_samples_seen_ += n
        return P, L


class _SupervisedFlow:
    """Block flow shared by the classifier and regressor faces."""

    def _prepare_learn(self, X: Any, y: Any, w: Any) -> tuple[np.ndarray, Any, np.ndarray]:
        steps = self._step_list()
        was_fitted = [isinstance(s, Learner) and s.is_fitted for s in steps]
        categories = getattr(steps[0], "_categories", None) if was_fitted[0] else None
        mark = categories.mark() if hasattr(categories, "mark") else None
        try:
            return super()._prepare_learn(X, y, w)
        except Exception:
            # the first step may have fixed its features or registered categories: undo both
            if mark is not None:
                categories.rollback(mark)
            for step, fitted in zip(steps, was_fitted):
                if not fitted and isinstance(step, Learner):
                    step.reset()
            raise

    def _encode_y(self, y: Any, n: int) -> Any:
        return self._step_list()[-1]._encode_y(y, n)

    def _out(self, n: int) -> np.ndarray:
        return self._step_list()[-1]._out(n)

    def _step_arrays(self, X_pred: Rows, X_learn: Rows, y: Any, w: Rows, out: np.ndarray) -> None:
        steps = self._step_list()
        P, L = self._chain(X_pred, X_learn, steps[:-1])
        final = steps[-1]
        final._step_arrays(P, L, y, w, out)
        if L is not None:
            final.n_samples_seen_ += float(L.shape[0])


class ClassifierPipeline(_SupervisedFlow, Pipeline, Classifier):
    """A :class:`Pipeline` whose last step is a classifier (what ``Pipeline(...)`` builds).

    >>> from tidal.compose import ClassifierPipeline, Pipeline
    >>> from tidal.naive_bayes import GaussianNB
    >>> from tidal.preprocessing import StandardScaler
    >>> model = Pipeline(StandardScaler(), GaussianNB())
    >>> isinstance(model, ClassifierPipeline), model.learn_one({"x": 1.0}, "a").classes_.tolist()
    (True, ['a'])
    """

    _face_tags: ClassVar[Tags] = Tags(task="multiclass")

    @property
    def _labels(self) -> list[Any] | None:  # type: ignore[override]
        return getattr(self._step_list()[-1], "_labels", None)

    def _fixed_classes(self) -> list[Any] | None:
        return self._step_list()[-1]._fixed_classes()


class RegressorPipeline(_SupervisedFlow, Pipeline, Regressor):
    """A :class:`Pipeline` whose last step is a regressor (what ``Pipeline(...)`` builds).

    >>> from tidal.dummy import RunningMeanRegressor
    >>> from tidal.preprocessing import StandardScaler
    >>> model = StandardScaler() | RunningMeanRegressor()
    >>> type(model).__name__, model.step_many({"x": [1.0, 2.0, 3.0]}, [1.0, 3.0, 8.0]).tolist()
    ('RegressorPipeline', [0.0, 1.0, 2.0])
    """

    _face_tags: ClassVar[Tags] = Tags(task="regression")


class TransformerPipeline(Pipeline, Transformer):
    """A :class:`Pipeline` of transformers only (what ``Pipeline(...)`` builds).

    >>> from tidal.preprocessing import OneHotEncoder, StandardScaler
    >>> encode = OneHotEncoder(max_categories=1) | StandardScaler(with_std=False)
    >>> _ = encode.learn_many({"c": ["a", "b", "a", "a"]})
    >>> encode.transform_one({"c": "a"})
    {'c[0]': 0.25, 'c[other]': -0.25}
    """

    _face_tags: ClassVar[Tags] = Tags(task="transformer", unsupervised=True)

    def _output_names(self) -> tuple[str, ...]:
        return tuple(self._step_list()[-1]._output_names())

    def _transform_pair(self, X_pred: np.ndarray | None, X_learn: np.ndarray | None) -> Pair:
        return self._chain(X_pred, X_learn, self._step_list())

    def _transform_arrays(self, X: np.ndarray, learn: bool) -> tuple[np.ndarray, np.ndarray]:
        P, L = self._transform_pair(X, X if learn else None)
        assert P is not None
        return P, (L if L is not None else P)
