import math

import numpy as np
import pandas as pd
import pytest
from ht_data import nominal_stream

from tidal._kernels import tree_hoeffding as K
from tidal.base import ParameterError, learner_from_state, read_state, save_state
from tidal.tree import HoeffdingTreeClassifier

river_tree = pytest.importorskip("river.tree")


# ----------------------------------------------------------------------------- helpers
def tidal_splits(m: HoeffdingTreeClassifier, limit: int) -> list[tuple[int, str]]:
    """(depth, feature) of the first ``limit`` branches in breadth-first order."""
    s = m._tree
    out, queue = [], [int(s["meta_i"][K.MI_ROOT])]
    while queue and len(out) < limit:
        k = queue.pop(0)
        if s["node_i"][k, K.NI_KIND] == K.LEAF:
            continue
        out.append((int(s["node_i"][k, K.NI_DEPTH]), m.feature_names_in_[s["node_i"][k, 0]]))
        queue.extend(m._children(k))
    return out


def river_splits(rm, limit: int) -> list[tuple[int, str]]:
    from river.tree.nodes.branch import DTBranch

    out, queue = [], [rm._root]
    while queue and len(out) < limit:
        node = queue.pop(0)
        if not isinstance(node, DTBranch):
            continue
        out.append((node.depth, node.feature))
        queue.extend(node.children)
    return out


def river_prequential(rm, rows, y, labels):
    P = np.zeros((len(rows), len(labels)))
    for i, x in enumerate(rows):
        p = rm.predict_proba_one(x)
        P[i] = [p.get(lab, 0.0) for lab in labels]
        rm.learn_one(x, y[i])
    return P


def stream_x0(n=4000, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.random((n, 4))
    y = (X[:, 0] > 0.3).astype(int)
    noise = rng.random(n) < 0.05
    return X, np.where(noise, 1 - y, y)


# ----------------------------------------------------------------------------- known splits
def test_root_splits_on_the_informative_feature_near_its_threshold():
    X, y = stream_x0()
    m = HoeffdingTreeClassifier(grace_period=100).learn_many(X, y)
    s = m._tree
    root = int(s["meta_i"][K.MI_ROOT])
    assert s["node_i"][root, K.NI_KIND] == K.NUMERIC
    assert s["node_i"][root, K.NI_FEAT] == 0
    # the Gaussian splitter tries 10 thresholds spread over [min, max]: 1/11 apart here
    assert abs(s["node_f"][root, K.NF_VALUE] - 0.3) < 1 / 11
    assert m.feature_importances_[0] > 0.5
    assert (m.predict_many(np.array([[0.1, 0.5, 0.5, 0.5], [0.8, 0.5, 0.5, 0.5]])) == [0, 1]).all()


@pytest.mark.parametrize("binary_split", [False, True])
def test_categorical_feature_that_decides_the_class_gives_a_nominal_split(binary_split):
    rng = np.random.default_rng(1)
    n = 3000
    colour = rng.choice(np.array(["red", "green", "blue"], dtype=object), n)
    frame = pd.DataFrame({"colour": colour, "noise": rng.random(n)})
    y = np.where(colour == "red", "warm", "cold")
    m = HoeffdingTreeClassifier(grace_period=100, binary_split=binary_split).learn_many(frame, y)
    s = m._tree
    root = int(s["meta_i"][K.MI_ROOT])
    kind = K.NOMINAL_BINARY if binary_split else K.NOMINAL_MULTIWAY
    assert s["node_i"][root, K.NI_KIND] == kind
    assert m.feature_names_in_[s["node_i"][root, K.NI_FEAT]] == "colour"
    text = m.to_text()
    assert "colour == 'red'" in text
    assert m.predict_one({"colour": "red", "noise": 0.5}) == "warm"
    assert m.predict_one({"colour": "blue", "noise": 0.5}) == "cold"


def test_numeric_column_declared_nominal_is_split_by_value():
    rng = np.random.default_rng(2)
    n = 2000
    code = rng.integers(0, 3, n).astype(float)
    X = pd.DataFrame({"code": code, "noise": rng.random(n)})
    y = (code == 2.0).astype(int)
    m = HoeffdingTreeClassifier(grace_period=100, nominal_attributes=["code"]).learn_many(X, y)
    root = int(m._tree["meta_i"][K.MI_ROOT])
    assert m._tree["node_i"][root, K.NI_KIND] == K.NOMINAL_MULTIWAY
    assert "code == 2.0" in m.to_text()
    assert m.predict_one({"code": 2.0, "noise": 0.1}) == 1


# ----------------------------------------------------------------------------- River as oracle
def test_same_first_splits_and_probabilities_as_river_on_elec2(elec2):
    X = elec2.drop(columns="up")
    y = elec2["up"].to_numpy()
    m = HoeffdingTreeClassifier(**HoeffdingTreeClassifier.river_params)
    P = m.step_proba_many(X, y)
    rm = river_tree.HoeffdingTreeClassifier()
    labels = list(m.classes_)
    R = river_prequential(rm, X.to_dict(orient="records"), y, labels)
    assert tidal_splits(m, 7) == river_splits(rm, 7)
    assert len(tidal_splits(m, 7)) == 7
    assert np.abs(P - R).max() <= 1e-9
    assert (m.n_nodes, m.n_leaves, m.n_active_leaves) == (
        rm.n_nodes,
        rm.n_leaves,
        rm.n_active_leaves,
    )
    accuracy = (np.argmax(P, axis=1) == np.array([labels.index(v) for v in y])).mean()
    assert accuracy >= 0.763  # River: 0.773 on this file


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"binary_split": True},
        {"split_criterion": "gini"},
        {"leaf_prediction": "mc", "remove_poor_attrs": True},
        {"leaf_prediction": "nb", "nb_threshold": 30},
        {"merit_preprune": False, "max_depth": 3},
        {"tau": 0.2, "delta": 0.01},
    ],
    ids=lambda p: ",".join(f"{k}={v}" for k, v in p.items()) or "defaults",
)
def test_river_oracle_multiclass_nominal_and_missing(params):
    frame, y, rows = nominal_stream(3000, seed=3)
    m = HoeffdingTreeClassifier(
        grace_period=50, **{**HoeffdingTreeClassifier.river_params, **params}
    )
    P = m.step_proba_many(frame, y)
    rm = river_tree.HoeffdingTreeClassifier(grace_period=50, **params)
    R = river_prequential(rm, rows, y, list(m.classes_))
    assert np.abs(P - R).max() <= 1e-9
    assert m.n_nodes == rm.n_nodes and m.n_nodes > 1


# ----------------------------------------------------------------------------- per-row semantics
def test_block_of_one_equals_one_block(elec2):
    X = elec2.drop(columns="up").to_numpy()[:2500]
    y = elec2["up"].to_numpy()[:2500]
    a = HoeffdingTreeClassifier(grace_period=50)
    big = a.step_proba_many(X, y)
    b = HoeffdingTreeClassifier(grace_period=50)
    ones = np.zeros_like(big)
    for i in range(len(y)):
        p = b.step_proba_many(X[i : i + 1], y[i : i + 1])
        ones[i, _columns(b, a)] = p[0]  # classes known so far, in the final classes_ order
    assert a.n_nodes > 5
    np.testing.assert_array_equal(big, ones)
    for k in ("node_i", "node_f", "stats"):
        n = a.n_nodes
        np.testing.assert_array_equal(a._tree[k][:n], b._tree[k][:n])


def test_blocks_equal_with_categories_classes_and_nan_appearing_late():
    frame, y, _ = nominal_stream(1500, seed=4)
    a = HoeffdingTreeClassifier(grace_period=40)
    big = a.step_proba_many(frame, y)
    b = HoeffdingTreeClassifier(grace_period=40)
    small = np.zeros_like(big)
    for i in range(0, 1500, 7):
        p = b.step_proba_many(frame.iloc[i : i + 7], y[i : i + 7])
        small[i : i + 7][:, _columns(b, a)] = p
    np.testing.assert_array_equal(big, small)


def _columns(now, final):
    """Where the columns of ``now``'s classes_ sit among ``final``'s (classes_ are sorted, so a
    class that appears later may sort before the ones seen earlier)."""
    order = final.classes_.tolist()
    return [order.index(c) for c in now.classes_.tolist()]


def test_state_round_trip_mid_stream_continues_identically(tmp_path):
    frame, y, _ = nominal_stream(2000, seed=5)
    a = HoeffdingTreeClassifier(grace_period=50).learn_many(frame.iloc[:1000], y[:1000])
    b = learner_from_state(read_state(save_state(a.state_dict(), tmp_path / "ht.npz")))
    assert b.to_text() == a.to_text()
    pa = a.step_proba_many(frame.iloc[1000:], y[1000:])
    pb = b.step_proba_many(frame.iloc[1000:], y[1000:])
    np.testing.assert_array_equal(pa, pb)
    assert a.n_nodes == b.n_nodes > 5


# ----------------------------------------------------------------------------- robustness
def test_unseen_category_and_nan_follow_the_heaviest_branch():
    rng = np.random.default_rng(6)
    n = 3000
    colour = rng.choice(np.array(["red", "green", "blue"], dtype=object), n, p=[0.6, 0.2, 0.2])
    frame = pd.DataFrame({"colour": colour, "x": rng.random(n)})
    y = np.where(colour == "green", "g", np.where(colour == "blue", "b", "lo"))
    y = np.where((colour == "red") & (frame["x"] > 0.5), "hi", y)
    m = HoeffdingTreeClassifier(grace_period=100).learn_many(frame, y)
    assert m._tree["node_i"][m._tree["meta_i"][K.MI_ROOT], K.NI_KIND] == K.NOMINAL_MULTIWAY
    for x in (0.1, 0.9):
        heavy = m.predict_proba_one({"colour": "red", "x": x})  # red is the most populated
        assert m.predict_proba_one({"colour": "purple", "x": x}) == heavy
        assert m.predict_proba_one({"colour": None, "x": x}) == heavy
    # a numeric NaN goes down the branch holding most of the weight (x > 0.5 under "red")
    m2 = HoeffdingTreeClassifier(grace_period=100).learn_many(
        pd.DataFrame({"x": np.r_[rng.random(2000) * 0.4, 0.6 + rng.random(3000) * 0.4]}),
        np.r_[np.zeros(2000, int), np.ones(3000, int)],
    )
    assert m2.predict_one({"x": float("nan")}) == 1
    assert m2.predict_one({"x": 0.1}) == 0


def test_new_category_in_training_opens_a_branch_without_crash():
    frame, y, _ = nominal_stream(1500, seed=7)
    m = HoeffdingTreeClassifier(grace_period=50).learn_many(frame, y)
    before = m.n_nodes
    m.learn_one({"colour": "violet", "a": 0.0, "b": 0.5}, "p")
    assert m.n_nodes == before + 1
    assert "colour == 'violet'" in m.to_text()


def test_class_appearing_mid_stream():
    rng = np.random.default_rng(8)
    X = rng.random((3000, 2))
    y = np.where(X[:, 0] > 0.5, "b", "a").astype(object)
    late = (np.arange(3000) >= 1500) & (X[:, 1] > 0.7)
    y[late] = "c"
    m = HoeffdingTreeClassifier(grace_period=100)
    P = m.step_proba_many(X, y)
    assert list(m.classes_) == ["b", "a", "c"] or list(m.classes_) == ["a", "b", "c"]
    assert P.shape == (3000, 3)
    assert np.allclose(P[1:1500, m.classes_.tolist().index("c")], 0.0)
    assert m.predict_one({"x0": 0.2, "x1": 0.9}) == "c"


def test_memory_limit_deactivates_leaves_and_bounds_the_size(elec2):
    X = elec2.drop(columns="up").to_numpy()[:20000]
    y = elec2["up"].to_numpy()[:20000]
    free = HoeffdingTreeClassifier(grace_period=50).learn_many(X, y)
    limit_mib = 0.01
    tight = HoeffdingTreeClassifier(grace_period=50, max_size=limit_mib, memory_estimate_period=500)
    tight.learn_many(X, y)
    assert free.n_inactive_leaves == 0
    assert tight.n_inactive_leaves > 0
    assert tight.n_active_leaves < free.n_active_leaves
    meta_f = tight._tree["meta_f"]
    est = meta_f[K.MF_OVERHEAD] * (
        tight.n_active_leaves * meta_f[K.MF_ACTIVE_EST]
        + tight.n_inactive_leaves * meta_f[K.MF_INACTIVE_EST]
    )
    assert est <= limit_mib * 2**20 * 1.5
    # inactive leaves hold no splitter statistics: the slots in use match the active leaves
    meta_i = tight._tree["meta_i"]
    in_use = meta_i[K.MI_NEXTSLOT] - meta_i[K.MI_NFREE]
    assert in_use <= tight.n_active_leaves


def test_stop_mem_management_stops_growth(elec2):
    X = elec2.drop(columns="up").to_numpy()[:20000]
    y = elec2["up"].to_numpy()[:20000]
    m = HoeffdingTreeClassifier(
        grace_period=50, max_size=0.005, memory_estimate_period=500, stop_mem_management=True
    ).learn_many(X, y)
    free = HoeffdingTreeClassifier(grace_period=50).learn_many(X, y)
    assert m._tree["meta_i"][K.MI_GROWTH] == 0
    assert m.n_nodes < free.n_nodes


def test_max_depth_is_respected(elec2):
    X = elec2.drop(columns="up").to_numpy()[:20000]
    y = elec2["up"].to_numpy()[:20000]
    m = HoeffdingTreeClassifier(grace_period=50, max_depth=2).learn_many(X, y)
    assert m.depth == 2


def test_zero_weight_rows_are_not_learned():
    X, y = stream_x0(600)
    m = HoeffdingTreeClassifier(grace_period=50).learn_many(X, y, w=np.zeros(600))
    assert m.n_nodes == 0 and m.to_text() == "(empty tree)"


@pytest.mark.parametrize(
    "params, message",
    [
        ({"grace_period": 0}, "grace_period == 0, must be > 0"),
        ({"split_criterion": "entropy"}, "split_criterion == 'entropy'"),
        ({"leaf_prediction": "knn"}, "leaf_prediction == 'knn'"),
        ({"delta": 0.0}, "delta == 0.0, must be in (0, 1)"),
        ({"max_depth": -1}, "max_depth == -1"),
        ({"nominal_attributes": ["nope"]}, "unknown features ['nope']"),
    ],
)
def test_bad_parameters_are_refused_clearly(params, message):
    m = HoeffdingTreeClassifier(**params)
    with pytest.raises(ParameterError, match=None) as err:
        m.learn_one({"x": 1.0}, 0)
    assert message in str(err.value)
    assert not m.is_fitted


def test_rendering_and_sizes():
    X, y = stream_x0()
    m = HoeffdingTreeClassifier(grace_period=100).learn_many(X, y)
    dot = m.to_dot()
    assert dot.startswith("digraph tree {") and dot.endswith("}")
    assert dot.count("->") == m.n_nodes - 1
    assert "x0" in dot
    assert m.n_leaves == (m.n_nodes + 1) // 2  # binary numeric splits only
    assert m.n_active_leaves + m.n_inactive_leaves == m.n_leaves
    assert math.isclose(m.feature_importances_.sum(), 1.0)
    assert len(m.to_text().splitlines()) == m.n_nodes - 1
    assert HoeffdingTreeClassifier().n_nodes == 0


@pytest.mark.parametrize("binary_split", [False, True])
def test_river_oracle_with_sample_weights(binary_split):
    frame, y, rows = nominal_stream(2000, seed=9)
    w = np.random.default_rng(9).choice([0.5, 1.0, 2.0, 3.0], len(y))
    params = {"grace_period": 30, "binary_split": binary_split}
    m = HoeffdingTreeClassifier(**params, **HoeffdingTreeClassifier.river_params)
    P = m.step_proba_many(frame, y, w)
    rm = river_tree.HoeffdingTreeClassifier(**params)
    labels = list(m.classes_)
    R = np.zeros_like(P)
    for i, x in enumerate(rows):
        p = rm.predict_proba_one(x)
        R[i] = [p.get(lab, 0.0) for lab in labels]
        rm.learn_one(x, y[i], w=float(w[i]))
    assert np.abs(P - R).max() <= 1e-9
    assert m.n_nodes == rm.n_nodes > 3


def test_river_oracle_hellinger_on_elec2_head(elec2):
    head = elec2.iloc[:6000]
    X, y = head.drop(columns="up"), head["up"].to_numpy()
    params = {"grace_period": 100, "split_criterion": "hellinger"}
    m = HoeffdingTreeClassifier(**params, **HoeffdingTreeClassifier.river_params)
    P = m.step_proba_many(X, y)
    rm = river_tree.HoeffdingTreeClassifier(**params)
    R = river_prequential(rm, X.to_dict(orient="records"), y, list(m.classes_))
    assert np.abs(P - R).max() <= 1e-9
    assert m.n_nodes == rm.n_nodes > 3
