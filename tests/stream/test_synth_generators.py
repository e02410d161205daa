"""Synthetic generators: determinism, block-size invariance, and the published concepts."""

import numpy as np
import pytest

from tidal.base import ParameterError
from tidal.stream.synth import (
    LED,
    SEA,
    STAGGER,
    Agrawal,
    ConceptDrift,
    Hyperplane,
    RandomRBF,
    RandomRBFDrift,
)


def make(name, seed):
    return {
        "SEA": lambda: SEA(variant=1, noise=0.1, seed=seed),
        "Hyperplane": lambda: Hyperplane(mag_change=0.01, sigma=0.2, seed=seed),
        "Agrawal": lambda: Agrawal(classification_function=4, perturbation=0.1, seed=seed),
        "AgrawalBalanced": lambda: Agrawal(balance_classes=True, seed=seed),
        "RandomRBF": lambda: RandomRBF(3, 5, 20, seed_model=seed, seed_sample=seed + 1),
        "RandomRBFDrift": lambda: RandomRBFDrift(
            0.01,
            10,
            n_classes=3,
            n_features=5,
            n_centroids=20,
            seed_model=seed,
            seed_sample=seed + 1,
        ),  # fmt: skip
        "STAGGER": lambda: STAGGER(classification_function=0, balance_classes=True, seed=seed),
        "LED": lambda: LED(irrelevant_features=True, seed=seed),
        "ConceptDrift": lambda: ConceptDrift(
            SEA(variant=0, seed=seed),
            SEA(variant=3, seed=seed + 1),
            position=2500,
            width=800,
            seed=seed,
        ),  # fmt: skip
    }[name]()


NAMES = [
    "SEA",
    "Hyperplane",
    "Agrawal",
    "AgrawalBalanced",
    "RandomRBF",
    "RandomRBFDrift",
    "STAGGER",
    "LED",
    "ConceptDrift",
]


@pytest.mark.parametrize("name", NAMES)
def test_same_seed_same_stream_other_seed_other_stream(name):
    a = make(name, 1).take(3000).arrays()
    b = make(name, 1).take(3000).arrays()
    c = make(name, 2).take(3000).arrays()
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
    assert not np.array_equal(a[0], c[0])


@pytest.mark.parametrize("name", NAMES)
def test_stream_does_not_depend_on_block_size(name):
    # 5,000 rows cross the internal chunk boundary twice
    ref_X, ref_y = make(name, 3).take(5000, block_size=4096).arrays()
    for block_size in (1, 7, 2048, 10_000):
        n = 600 if block_size == 1 else 5000
        X, y = make(name, 3).take(n, block_size=block_size).arrays()
        assert np.array_equal(X, ref_X[:n]) and np.array_equal(y, ref_y[:n])
    src = make(name, 3).take(5000, block_size=7)
    sizes = [len(b) for b in src]
    assert sizes[:-1] == [7] * (len(sizes) - 1) and sum(sizes) == 5000
    assert [b.start for b in src][:3] == [0, 7, 14]


@pytest.mark.parametrize("name", NAMES)
def test_take_gives_a_source_with_the_reader_api(name):
    src = make(name, 4).take(50)
    x, y = next(src.rows())
    assert list(x) == list(src.feature_names) and all(type(v) is float for v in x.values())
    assert isinstance(y, int)
    assert src.target == "y" and src.task in ("binary", "multiclass")
    assert src.fingerprint() == make(name, 4).take(50, block_size=3).fingerprint()
    assert src.to_pandas().shape == (50, len(src.feature_names) + 1)


def test_unseeded_generator_is_fixed_once_used():
    gen = SEA()
    assert gen.take(100).fingerprint() == gen.take(100).fingerprint()
    assert gen.take(100).fingerprint() != SEA().take(100).fingerprint()


@pytest.mark.parametrize("variant, threshold", [(0, 8.0), (1, 9.0), (2, 7.0), (3, 9.5)])
def test_sea_labels_follow_the_threshold(variant, threshold):
    X, y = SEA(variant=variant, seed=variant).take(4000).arrays()
    assert X.min() >= 0 and X.max() < 10
    for x, label in zip(X.tolist(), y.tolist()):
        assert label == (1 if x[0] + x[1] > threshold else 0)


def test_sea_noise_flips_the_stated_fraction():
    X, y = SEA(variant=0, noise=0.2, seed=5).take(20_000).arrays()
    flipped = np.mean(y != (X[:, 0] + X[:, 1] > 8))
    assert abs(flipped - 0.2) < 4 * np.sqrt(0.2 * 0.8 / 20_000)


def test_hyperplane_without_drift_uses_its_initial_weights():
    X, y = Hyperplane(n_features=5, noise_percentage=0.0, seed=11).take(3000).arrays()
    w = np.random.default_rng(11).random(5)
    assert np.array_equal(y, (X @ w >= w.sum() / 2).astype(int))


@pytest.mark.parametrize("mag", [0.001, 0.2])
def test_hyperplane_weights_move_by_mag_change_per_row(mag):
    # sigma=0: the direction never turns, so row t sees w0 + t * mag on the drifting features
    d, k = 6, 3
    gen = Hyperplane(n_features=d, n_drift_features=k, mag_change=mag, sigma=0.0,
                     noise_percentage=0.0, seed=2)  # fmt: skip
    X, y = gen.take(6000).arrays()
    t = np.arange(6000)[:, None]
    W = np.random.default_rng(2).random(d) + np.hstack([t * mag * np.ones((1, k)),
                                                       np.zeros((6000, d - k))])  # fmt: skip
    margin = np.einsum("ij,ij->i", X, W) - W.sum(axis=1) / 2
    clear = np.abs(margin) > 1e-9
    assert clear.mean() > 0.99
    assert np.array_equal(y[clear], (margin[clear] >= 0).astype(int))


def test_hyperplane_direction_reverses_with_probability_sigma():
    # sigma=1: the direction turns after every row, so row t sees w0 + mag * (t % 2)
    d, k, mag, n = 4, 2, 0.5, 4000
    gen = Hyperplane(n_features=d, n_drift_features=k, mag_change=mag, sigma=1.0,
                     noise_percentage=0.0, seed=8)  # fmt: skip
    X, y = gen.take(n).arrays()
    W = np.tile(np.random.default_rng(8).random(d), (n, 1))
    W[:, :k] += mag * (np.arange(n) % 2)[:, None]
    assert np.array_equal(y, (np.einsum("ij,ij->i", X, W) >= W.sum(axis=1) / 2).astype(int))


def test_hyperplane_noise_and_drift_change_labels():
    X, y = Hyperplane(n_features=4, noise_percentage=0.3, seed=3).take(20_000).arrays()
    w = np.random.default_rng(3).random(4)
    assert abs(np.mean(y != (X @ w >= w.sum() / 2)) - 0.3) < 0.02
    X, y = Hyperplane(n_features=4, mag_change=0.01, sigma=0.0, noise_percentage=0.0,
                      seed=3).take(20_000).arrays()  # fmt: skip
    late = slice(15_000, 20_000)
    assert np.mean(y[late] != (X[late] @ w >= w.sum() / 2)) > 0.05


# Agrawal et al. 1993, p. 924: the predicate for group A of each function (paper's F1..F10)
def paper_group_a(f, salary, commission, age, elevel, car, zipcode, hvalue, hyears, loan):
    def within(v, lo, hi):
        return lo <= v <= hi

    if f == 0:
        return age < 40 or age >= 60
    if f == 1:
        if age < 40:
            return within(salary, 50_000, 100_000)
        if age < 60:
            return within(salary, 75_000, 125_000)
        return within(salary, 25_000, 75_000)
    if f == 2:
        if age < 40:
            return elevel in (0, 1)
        if age < 60:
            return elevel in (1, 2, 3)
        return elevel in (2, 3, 4)
    if f == 3:
        if age < 40:
            if elevel in (0, 1):
                return within(salary, 25_000, 75_000)
            return within(salary, 50_000, 100_000)
        if age < 60:
            if elevel in (1, 2, 3):
                return within(salary, 50_000, 100_000)
            return within(salary, 75_000, 125_000)
        if elevel in (2, 3, 4):
            return within(salary, 50_000, 100_000)
        return within(salary, 25_000, 75_000)
    if f == 4:
        if age < 40:
            if within(salary, 50_000, 100_000):
                return within(loan, 100_000, 300_000)
            return within(loan, 200_000, 400_000)
        if age < 60:
            if within(salary, 75_000, 125_000):
                return within(loan, 200_000, 400_000)
            return within(loan, 300_000, 500_000)
        if within(salary, 25_000, 75_000):
            return within(loan, 300_000, 500_000)
        return within(loan, 100_000, 300_000)
    total = salary + commission
    if f == 5:
        if age < 40:
            return within(total, 50_000, 100_000)
        if age < 60:
            return within(total, 75_000, 125_000)
        return within(total, 25_000, 75_000)
    if f == 6:
        return 2 * total / 3 - loan / 5 - 20_000 > 0
    if f == 7:
        return 2 * total / 3 - 5000 * elevel - 20_000 > 0
    if f == 8:
        return 2 * total / 3 - 5000 * elevel - loan / 5 - 10_000 > 0
    equity = hvalue * (hyears - 20) / 10 if hyears >= 20 else 0
    return 2 * total / 3 - 5000 * elevel + equity / 5 - 10_000 > 0


@pytest.mark.parametrize("function", range(10))
def test_agrawal_labels_follow_the_published_functions(function):
    src = Agrawal(classification_function=function, seed=100 + function).take(3000)
    rows = list(src.rows())
    for x, y in rows:
        assert y == (0 if paper_group_a(function, **x) else 1), (function, x, y)
    labels = [y for _, y in rows]
    assert 0 < sum(labels) < len(labels)


def test_agrawal_features_have_the_published_ranges():
    X, _ = Agrawal(seed=0).take(20_000).arrays()
    cols = dict(zip(Agrawal().feature_names, X.T))
    assert 20_000 <= cols["salary"].min() and cols["salary"].max() < 150_000
    rich = cols["salary"] >= 75_000
    assert np.all(cols["commission"][rich] == 0)
    assert 10_000 <= cols["commission"][~rich].min() and cols["commission"].max() < 75_000
    for name, lo, hi in [("age", 20, 80), ("elevel", 0, 4), ("car", 1, 20), ("zipcode", 0, 8),
                         ("hyears", 1, 30)]:  # fmt: skip
        assert set(np.unique(cols[name])) == set(range(lo, hi + 1)), name
    k = 9 - cols["zipcode"]
    assert np.all(cols["hvalue"] >= k * 50_000) and np.all(cols["hvalue"] < k * 150_000)
    assert 0 <= cols["loan"].min() and cols["loan"].max() < 500_000


def test_agrawal_perturbation_moves_values_within_ranges():
    clean, y0 = Agrawal(classification_function=1, seed=9).take(5000).arrays()
    noisy, y1 = Agrawal(classification_function=1, perturbation=0.2, seed=9).take(5000).arrays()
    assert not np.array_equal(clean[:, 0], noisy[:, 0])
    assert 20_000 <= noisy[:, 0].min() and noisy[:, 0].max() <= 150_000
    assert np.all(noisy[:, 2] == np.round(noisy[:, 2])) and 20 <= noisy[:, 2].min()
    assert noisy[:, 2].max() <= 80


@pytest.mark.parametrize(
    "gen",
    [
        Agrawal(classification_function=2, balance_classes=True, seed=1),
        STAGGER(classification_function=0, balance_classes=True, seed=1),
    ],
)
def test_balanced_classes_alternate_starting_with_one(gen):
    X, y = gen.take(4999).arrays()
    assert np.array_equal(y, np.arange(4999) % 2 == 0)
    f = gen.classification_function
    if isinstance(gen, Agrawal):
        for x, label in list(gen.take(300).rows()):
            assert label == (0 if paper_group_a(f, **x) else 1)


STAGGER_RULES = {
    0: lambda size, color, shape: size == 0 and color == 0,  # small and red
    1: lambda size, color, shape: color == 2 or shape == 0,  # green or circle
    2: lambda size, color, shape: size in (1, 2),  # medium or large
}


@pytest.mark.parametrize("function", range(3))
def test_stagger_rules(function):
    rows = list(STAGGER(classification_function=function, seed=function).take(2000).rows())
    for x, y in rows:
        assert y == int(STAGGER_RULES[function](int(x["size"]), int(x["color"]), int(x["shape"])))
    assert {tuple(x.values()) for x, _ in rows} == {
        (float(a), float(b), float(c)) for a in range(3) for b in range(3) for c in range(3)
    }


DIGITS = {  # seven-segment display: top, top-left, top-right, middle, bottom-left, ...
    0: "1110111", 1: "0010010", 2: "1011101", 3: "1011011", 4: "0111010",
    5: "1101011", 6: "1101111", 7: "1010010", 8: "1111111", 9: "1111011",
}  # fmt: skip


def test_led_draws_the_digit_segments():
    for x, y in LED(noise_percentage=0.0, seed=1).take(500).rows():
        assert "".join(str(int(v)) for v in x.values()) == DIGITS[y]


def test_led_noise_and_irrelevant_features():
    X, y = LED(noise_percentage=0.1, irrelevant_features=True, seed=2).take(20_000).arrays()
    assert X.shape == (20_000, 24) and set(np.unique(X)) == {0.0, 1.0}
    truth = np.array([[int(c) for c in DIGITS[d]] for d in range(10)])[y]
    assert abs(np.mean(X[:, :7] != truth) - 0.1) < 0.01
    assert abs(X[:, 7:].mean() - 0.5) < 0.01


def test_random_rbf_drift_with_zero_speed_is_random_rbf():
    a = RandomRBF(4, 3, 10, seed_model=5, seed_sample=6).take(3000).arrays()
    b = RandomRBFDrift(0.0, 10, 4, 3, 10, seed_model=5, seed_sample=6).take(3000).arrays()
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])


def test_random_rbf_clusters_sit_on_their_centres():
    # one centroid: rows are centre + N(0, spread) along a random direction
    X, y = RandomRBF(2, 3, 1, seed_model=1, seed_sample=2).take(20_000).arrays()
    rng = np.random.default_rng(1)
    centre = rng.random((1, 3))[0]
    label, spread = rng.integers(0, 2, 1)[0], rng.random(1)[0]
    assert np.all(y == label)
    assert np.allclose(X.mean(axis=0), centre, atol=0.02)
    dist = np.linalg.norm(X - centre, axis=1)
    assert abs(np.sqrt(np.mean(dist**2)) - spread) < 0.02 * max(spread, 0.1)


def test_random_rbf_drift_moves_the_centroids_and_keeps_them_in_the_unit_cube():
    gen = RandomRBFDrift(0.001, 1, 2, 2, 1, seed_model=3, seed_sample=4)
    X, _ = gen.take(20_000).arrays()
    early, late = X[:1000].mean(axis=0), X[-1000:].mean(axis=0)
    assert np.linalg.norm(early - late) > 0.1
    still = RandomRBFDrift(0.0, 1, 2, 2, 1, seed_model=3, seed_sample=4).take(20_000).arrays()[0]
    assert np.linalg.norm(still[:1000].mean(axis=0) - still[-1000:].mean(axis=0)) < 0.1
    from tidal.stream.synth.rbf import _fold

    z = np.array([-0.3, 0.2, 1.25, 2.5, 3.9])
    assert np.allclose(_fold(z), [0.3, 0.2, 0.75, 0.5, 0.1])


def origins(mixed, a, b):
    """For each mixed row, 'a' or 'b': each stream advances only when it supplies a row."""
    out, i, j = [], 0, 0
    for row in mixed:
        if i < len(a) and np.array_equal(row, a[i]):
            out.append(0)
            i += 1
        else:
            assert np.array_equal(row, b[j])
            out.append(1)
            j += 1
    return np.array(out)


def test_concept_drift_with_width_one_switches_exactly_at_position():
    a, b = SEA(variant=0, seed=1), SEA(variant=3, seed=2)
    X, y = ConceptDrift(a, b, position=3000, width=1, seed=0).take(6000).arrays()
    Xa, ya = a.take(3000).arrays()
    Xb, yb = b.take(3000).arrays()
    assert np.array_equal(X[:3000], Xa) and np.array_equal(y[:3000], ya)
    assert np.array_equal(X[3000:], Xb) and np.array_equal(y[3000:], yb)


def test_concept_drift_gradual_proportions_follow_the_sigmoid():
    a, b = SEA(variant=0, seed=1), SEA(variant=3, seed=2)
    drift = ConceptDrift(a, b, position=6000, width=4000, seed=7)
    n = 12_000
    X, _ = drift.take(n).arrays()
    from_b = origins(X, a.take(n).arrays()[0], b.take(n).arrays()[0])
    t = np.arange(n)
    p = 1 / (1 + np.exp(-4 * (t - 6000) / 4000))
    for lo in range(0, n, 1000):
        window = slice(lo, lo + 1000)
        expected = p[window].sum()
        sd = np.sqrt(np.sum(p[window] * (1 - p[window])))
        assert abs(from_b[window].sum() - expected) <= 4 * sd + 1, lo
    assert 0.45 < from_b[5500:6500].mean() < 0.55


def test_concept_drift_composes():
    inner = ConceptDrift(SEA(0, seed=1), SEA(1, seed=2), position=1000, width=1)
    outer = ConceptDrift(inner, SEA(2, seed=3), position=2000, width=1)
    X, y = outer.take(3000).arrays()
    s = X[:, 0] + X[:, 1]
    for part, threshold in ((slice(0, 1000), 8), (slice(1000, 2000), 9), (slice(2000, 3000), 7)):
        assert np.array_equal(y[part], (s[part] > threshold).astype(int))


@pytest.mark.parametrize(
    "gen, message",
    [
        (SEA(variant=4), "variant == 4"),
        (SEA(noise=1.5), "noise == 1.5"),
        (Hyperplane(n_features=3, n_drift_features=4), "n_drift_features == 4"),
        (Agrawal(classification_function=10), "classification_function == 10"),
        (Agrawal(perturbation=-0.1), "perturbation == -0.1"),
        (STAGGER(classification_function=3), "classification_function == 3"),
        (LED(noise_percentage=2), "noise_percentage == 2"),
        (RandomRBF(n_classes=1), "n_classes == 1"),
        (RandomRBFDrift(n_drift_centroids=60, n_centroids=50), "n_drift_centroids == 60"),
        (ConceptDrift(SEA(), LED(), 10), "same features"),
        (ConceptDrift(SEA(), SEA(), 10, width=0), "width == 0"),
    ],
)
def test_bad_parameters_raise_parameter_error(gen, message):
    with pytest.raises(ParameterError, match=message):
        gen.take(10)


def test_take_rejects_negative_n():
    with pytest.raises(ParameterError, match="n == -1"):
        SEA().take(-1)
    assert SEA(seed=1).take(0).n_rows == 0
