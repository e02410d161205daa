import json
import os
import subprocess
import sys

import numpy as np
import pytest

from tidal.base.exceptions import InputError, ParameterError
from tidal.distributed import ShardMap, key_bytes, virtual_shard

KEYS = ["store-1", "Zürich", "", 0, 1, 17, -5, 2**70, "17", 3.5]


def _in_subprocess(seed: str) -> list[int]:
    code = (
        "import json, sys; from tidal.distributed import ShardMap; "
        f"print(json.dumps(ShardMap(4).virtual_of({KEYS!r}).tolist()))"
    )
    env = {**os.environ, "PYTHONHASHSEED": seed}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def test_the_map_is_the_same_in_other_processes_whatever_the_hash_seed():
    here = ShardMap(4).virtual_of(KEYS).tolist()
    assert _in_subprocess("4242") == here
    # and it is blake2b of the canonical bytes, not a per-process value
    import hashlib

    expected = [
        int.from_bytes(hashlib.blake2b(key_bytes(k), digest_size=8).digest(), "big") % 256
        for k in KEYS
    ]
    assert here == expected


def test_keys_a_dict_treats_as_equal_share_a_virtual_shard_and_str_differs_from_int():
    same = [1, 1.0, True, np.int64(1), np.float32(1.0)]
    assert len({virtual_shard(k, 1 << 30) for k in same}) == 1
    assert key_bytes("1") != key_bytes(1)
    assert ShardMap(2).virtual_of(np.array([1, 2, 1])).tolist()[0] == virtual_shard(1, 256)


def test_keys_spread_over_every_virtual_shard():
    v = ShardMap(2, n_virtual=64).virtual_of([f"k{i}" for i in range(5000)])
    counts = np.bincount(v, minlength=64)
    assert counts.min() > 0.5 * counts.mean() and counts.max() < 1.5 * counts.mean()


@pytest.mark.parametrize(
    "keys, words",
    [
        ([("a", 1)], ["str, int, bool or float", "tuple", "row 0"]),
        (["a", None], ["row 1", "missing"]),
        ([float("inf")], ["finite", "inf"]),
    ],
)
def test_a_key_the_map_cannot_hash_is_refused_naming_it(keys, words):
    with pytest.raises(InputError) as err:
        column = np.empty(len(keys), dtype=object)
        column[:] = keys
        ShardMap(2).virtual_of(column, where="events")
    for w in words:
        assert w in str(err.value)


def test_moves_change_only_the_moved_virtual_shard_and_the_map_round_trips():
    m = ShardMap(3, n_virtual=12)
    before = list(m.assignment)
    m.move(4, to=2)
    assert [v for v in range(12) if m.assignment[v] != before[v]] == [4]
    assert m.owned_by(2) == [2, 4, 5, 8, 11]
    again = ShardMap.from_dict(json.loads(m.to_json()))
    assert again == m and again.version == 1
    with pytest.raises(ParameterError, match="to == 3"):
        m.move(0, to=3)
    with pytest.raises(ParameterError, match="n_virtual == 2, must be an int >= shards"):
        ShardMap(3, n_virtual=2)


def test_the_library_and_the_pure_parts_import_without_ray():
    code = (
        "import sys, tidal, tidal.compose, tidal.service.wal; assert 'tidal.distributed' not in "
        "sys.modules; import tidal.distributed; assert 'ray' not in sys.modules, 'ray imported'"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
