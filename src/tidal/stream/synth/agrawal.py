"""Agrawal et al. (1993) loan applications: nine features, ten classification functions."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from tidal.base import store_params
from tidal.base.validation import check_real
from tidal.stream.synth._base import Chunk, ConceptFunctions

__all__ = ["Agrawal"]

NAMES = ("salary", "commission", "age", "elevel", "car", "zipcode", "hvalue", "hyears", "loan")


def _between(v: np.ndarray, low: float, high: float) -> np.ndarray:
    return (low <= v) & (v <= high)


def _by_age(age: np.ndarray, young: np.ndarray, middle: np.ndarray, old: np.ndarray) -> np.ndarray:
    return np.where(age < 40, young, np.where(age < 60, middle, old))


# group A's salary (or total income) band for the young (< 40), the middle-aged and the old
_INCOME_BANDS = ((5e4, 1e5), (7.5e4, 1.25e5), (2.5e4, 7.5e4))


def _in_income_band(age: np.ndarray, income: np.ndarray) -> np.ndarray:
    return _by_age(age, *(_between(income, low, high) for low, high in _INCOME_BANDS))


def group_a(function: int, X: np.ndarray) -> np.ndarray:
    """True where a row belongs to group A under ``function`` (0-based; the paper's F1-F10)."""
    salary, commission, age, elevel, _car, _zip, hvalue, hyears, loan = X.T
    total = salary + commission
    if function == 0:
        return (age < 40) | (age >= 60)
    if function == 1:
        return _in_income_band(age, salary)
    if function == 2:
        return _by_age(age, elevel <= 1, (elevel >= 1) & (elevel <= 3), elevel >= 2)
    if function == 3:
        return _by_age(
            age,
            np.where(elevel <= 1, _between(salary, 2.5e4, 7.5e4), _between(salary, 5e4, 1e5)),
            np.where(
                (elevel >= 1) & (elevel <= 3),
                _between(salary, 5e4, 1e5),
                _between(salary, 7.5e4, 1.25e5),
            ),
            np.where(elevel >= 2, _between(salary, 5e4, 1e5), _between(salary, 2.5e4, 7.5e4)),
        )
    if function == 4:
        low, mid, high = (
            _between(loan, 1e5, 3e5),
            _between(loan, 2e5, 4e5),
            _between(loan, 3e5, 5e5),
        )
        # in the salary band of its age group the loan band rises with age; outside it, the
        # band is one step higher (the old's wrapping round to the lowest)
        return np.where(
            _in_income_band(age, salary), _by_age(age, low, mid, high), _by_age(age, mid, high, low)
        )
    if function == 5:
        return _in_income_band(age, total)
    if function == 6:
        disposable = 2.0 * total / 3.0 - loan / 5.0 - 20000.0
    elif function == 7:
        disposable = 2.0 * total / 3.0 - 5000.0 * elevel - 20000.0
    elif function == 8:
        disposable = 2.0 * total / 3.0 - 5000.0 * elevel - loan / 5.0 - 10000.0
    else:
        equity = np.where(hyears >= 20, hvalue * (hyears - 20.0) / 10.0, 0.0)
        disposable = 2.0 * total / 3.0 - 5000.0 * elevel + equity / 5.0 - 10000.0
    return disposable > 0


class Agrawal(ConceptFunctions):
    """Agrawal loan stream: 9 features, binary target; ``y = 0`` is the paper's group A.

    Features (as in MOA's AgrawalGenerator): salary uniform on [20k, 150k); commission 0 if
    salary >= 75k else uniform on [10k, 75k); age integer 20-80; elevel 0-4; car 1-20;
    zipcode 0-8; hvalue uniform on (9 - zipcode) * [50k, 150k); hyears 1-30; loan uniform on
    [0, 500k). ``classification_function`` 0-9 is the paper's function 1-10 (see
    :func:`group_a`). Labels follow MOA (group A -> 0); River's ``Agrawal`` inverts functions
    0-5 (group A -> 1) and uses ``disposable > 1``, so its labels differ there.

    ``perturbation`` p moves each numeric value v by ``range * p * u`` (u uniform on [-1, 1))
    after the label is drawn, clipped to the feature's range, as MOA does (hvalue is clipped
    to [0, 1.35M]; MOA's 135,000 is taken to be a typo). ``balance_classes`` makes labels
    alternate 1, 0, 1, 0, ...

    >>> from tidal.stream.synth import Agrawal
    >>> src = Agrawal(classification_function=0, seed=1).take(1000)
    >>> X, y = src.arrays()
    >>> src.feature_names[:3], bool(np.all((y == 0) == ((X[:, 2] < 40) | (X[:, 2] >= 60))))
    (('salary', 'commission', 'age'), True)

    Reference: R. Agrawal, T. Imielinski and A. Swami, "Database mining: a performance
    perspective", IEEE TKDE 5(6), 1993.
    """

    feature_names: tuple[str, ...] = NAMES
    n_functions = 10

    def __init__(
        self,
        classification_function: int = 0,
        perturbation: float = 0.0,
        balance_classes: bool = False,
        seed: int | None = None,
    ):
        store_params(self, locals())

    def _check_params(self) -> None:
        super()._check_params()
        check_real("perturbation", self.perturbation, 0.0, 1.0)

    def _draw(self, rng: np.random.Generator, n: int) -> Chunk:
        salary = 20000.0 + 130000.0 * rng.random(n)
        commission = np.where(salary >= 75000.0, 0.0, 10000.0 + 65000.0 * rng.random(n))
        age = rng.integers(20, 81, n)
        elevel = rng.integers(0, 5, n)
        car = rng.integers(1, 21, n)
        zipcode = rng.integers(0, 9, n)
        hvalue = (9.0 - zipcode) * 100000.0 * (0.5 + rng.random(n))
        hyears = rng.integers(1, 31, n)
        loan = 500000.0 * rng.random(n)
        X = np.column_stack(
            [salary, commission, age, elevel, car, zipcode, hvalue, hyears, loan]
        ).astype(np.float64)
        y = np.where(group_a(self.classification_function, X), 0, 1)
        return X, y

    def _stream(self) -> Iterator[Chunk]:
        rng = self._rng()
        # the perturbation moves the rows handed out, after balancing, with the same rng
        for X, y in self._chunks(rng):
            if self.perturbation > 0:
                self._perturb(X, rng)
            yield X, y

    def _perturb(self, X: np.ndarray, rng: np.random.Generator) -> None:
        p = self.perturbation

        def move(j: int, span: np.ndarray | float, low: float, high: float) -> np.ndarray:
            shifted = X[:, j] + span * p * 2.0 * (rng.random(len(X)) - 0.5)
            return np.clip(shifted, low, high)

        X[:, 0] = move(0, 130000.0, 20000.0, 150000.0)
        X[:, 1] = np.where(X[:, 1] > 0, move(1, 65000.0, 10000.0, 75000.0), 0.0)
        X[:, 2] = np.round(move(2, 60.0, 20.0, 80.0))
        X[:, 6] = move(6, (9.0 - X[:, 5]) * 100000.0, 0.0, 1350000.0)
        X[:, 7] = np.round(move(7, 29.0, 1.0, 30.0))
        X[:, 8] = move(8, 500000.0, 0.0, 500000.0)
