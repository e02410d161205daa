import numpy as np
import pytest

from tidal.base.exceptions import InputError, NotFittedError, ParameterError
from tidal.compose import Keyed
from tidal.distributed import KeyedCluster
from tidal.linear_model import LinearRegression

from .helpers import blocks, keyed_stream, reference


def test_predictions_and_states_equal_the_in_process_keyed_model(tmp_path):
    X, y, ids = keyed_stream(2000)
    want_preds, want = reference(LinearRegression(), X, y)
    with KeyedCluster(LinearRegression(), "key", shards=3, storage=tmp_path, n_virtual=32) as c:
        got = np.concatenate([c.learn_many(*blk).predictions for blk in blocks(X, y, ids, 128)])
        assert np.array_equal(got, want_preds)
        assert c.key_digests() == want
        keyed = Keyed(LinearRegression(), key="key").learn_many(X, y)
        probe = {c_: v[:300] for c_, v in X.items()}
        assert np.array_equal(c.predict_many(probe), keyed.predict_many(probe))


def test_virtual_shards_move_mid_stream_without_losing_or_doubling(tmp_path):
    X, y, ids = keyed_stream(2000)
    want_preds, want = reference(LinearRegression(), X, y)
    rng = np.random.default_rng(3)
    with KeyedCluster(LinearRegression(), "key", shards=3, storage=tmp_path, n_virtual=32) as c:
        got = []
        for i, blk in enumerate(blocks(X, y, ids, 100)):
            if i % 4 == 2:
                for v in rng.choice(32, 5, replace=False):
                    c.move(int(v), int(rng.integers(3)))
            got.append(c.learn_many(*blk).predictions)
        assert c.map.version > 0
        assert np.array_equal(np.concatenate(got), want_preds)
        assert c.key_digests() == want
        assert sum(i["n_applied"] for i in c.info()) == 2000


def test_reopening_the_storage_restores_and_growing_rebalances(tmp_path):
    X, y, ids = keyed_stream(1000)
    _, want = reference(LinearRegression(), X, y)
    half = {k: v[:500] for k, v in X.items()}
    with KeyedCluster(LinearRegression(), "key", shards=2, storage=tmp_path, n_virtual=16) as c:
        c.learn_many(half, y[:500], ids[:500])
    with KeyedCluster(LinearRegression(), "key", shards=4, storage=tmp_path, n_virtual=16) as c:
        moves = c.rebalance()
        assert len(moves) == 8 and sorted(len(c.map.owned_by(s)) for s in range(4)) == [4] * 4
        assert c.learn_many(half, y[:500], ids[:500]).n_duplicates == 500
        c.learn_many({k: v[500:] for k, v in X.items()}, y[500:], ids[500:])
        assert c.key_digests() == want
    with pytest.raises(ParameterError, match="holds data in 16 virtual shards"):
        KeyedCluster(LinearRegression(), "key", shards=4, storage=tmp_path, n_virtual=32)
    with pytest.raises(ParameterError, match="has 4 shards"):
        KeyedCluster(LinearRegression(), "key", shards=2, storage=tmp_path, n_virtual=16)


@pytest.mark.parametrize(
    "X, y, ids, words",
    [
        ({"store": ["a"], "x": [1.0]}, [1.0], ["e"], ["key column 'key'", "['store', 'x']"]),
        ({"key": ["a", "b"], "x": [1.0, np.inf]}, [1, 2], ["e", "f"], ["'x' row 1", "finite"]),
        ({"key": ["a", "b"], "x": [1.0, "2"]}, [1, 2], ["e", "f"], ["'x' row 1", "number"]),
        ({"key": [b"a"], "x": [1.0]}, [1.0], ["e"], ["str, int, bool or float", "bytes", "row 0"]),
        ({"key": ["a", None], "x": [1.0, 2.0]}, [1, 2], ["e", "f"], ["row 1", "missing"]),
        ({"key": ["a"], "x": [1.0]}, [1.0], ["e", "f"], ["2 event ids for 1 rows"]),
        ({"key": ["a"], "x": [1.0]}, [1.0], ["has space"], ["event_ids row 0", "printable"]),
        ({"key": ["a"], "x": [1.0]}, [np.nan], ["e"], ["y row 0", "finite label"]),
    ],
)
def test_bad_input_is_refused_naming_what_was_expected_and_where(tmp_path, X, y, ids, words):
    with KeyedCluster(LinearRegression(), "key", shards=2, storage=tmp_path, n_virtual=8) as c:
        with pytest.raises(InputError) as err:
            c.learn_many(X, y, ids)
        for w in words:
            assert w in str(err.value)
        assert sum(i["n_applied"] for i in c.info()) == 0


def test_an_unseen_key_raises_unless_a_default_is_given(tmp_path):
    with KeyedCluster(LinearRegression(), "key", shards=2, storage=tmp_path, n_virtual=8) as c:
        c.learn_many({"key": ["a"], "x": [1.0]}, [1.0], ["e1"])
        with pytest.raises(NotFittedError, match=r"no model yet for key\(s\) \['zz'\]"):
            c.predict_many({"key": ["a", "zz"], "x": [1.0, 1.0]})
        got = c.predict_many({"key": ["a", "zz"], "x": [1.0, 1.0]}, default=-1.0)
        assert got[1] == -1.0 and got[0] != -1.0
