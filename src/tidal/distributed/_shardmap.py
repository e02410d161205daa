"""Which shard owns a key: key -> virtual shard (a stable hash), virtual shard -> shard (a table).

A key's virtual shard is ``blake2b(canonical bytes of the key) mod n_virtual``: the same in every
process, machine and ``PYTHONHASHSEED`` (Python's own ``hash`` of a str is salted per process).
Keys compare as :class:`tidal.compose.Keyed` compares them: ``1``, ``1.0``, ``True`` and
``np.int64(1)`` are one key, so they get one canonical form.

There are many more virtual shards than shards (256 by default), so growing or rebalancing moves
whole virtual shards -- a folder each on disk -- and never rehashes a key.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import numpy as np
import pandas as pd

from tidal.base.exceptions import InputError, ParameterError

__all__ = ["ShardMap", "key_bytes", "virtual_shard"]

MAP_FORMAT = "tidal.shardmap"


def key_bytes(key: Any, where: str = "key") -> bytes:
    """The canonical bytes of a key (str, int, bool or float; numpy scalars unwrapped).

    >>> key_bytes("store-7"), key_bytes(7), key_bytes(7.0), key_bytes(np.int32(7))
    (b's:store-7', b'i:7', b'i:7', b'i:7')
    """
    if isinstance(key, np.generic):
        key = key.item()
    if isinstance(key, str):
        return b"s:" + key.encode("utf-8", "surrogatepass")
    if isinstance(key, bool | int):
        return b"i:%d" % int(key)
    if isinstance(key, float):
        if key != key or key in (float("inf"), float("-inf")):
            raise InputError(f"{where}: a key must be finite, got {key!r}")
        if key.is_integer():  # 7.0 == 7 for a dict, so for the map too
            return b"i:%d" % int(key)
        return b"f:" + float.hex(key).encode()
    raise InputError(
        f"{where}: a key must be a str, int, bool or float, got {key!r} ({type(key).__name__})"
    )


def virtual_shard(key: Any, n_virtual: int, where: str = "key") -> int:
    """The virtual shard of one key.

    >>> virtual_shard("store-7", 256) == virtual_shard("store-7", 256)
    True
    """
    digest = hashlib.blake2b(key_bytes(key, where), digest_size=8).digest()
    return int.from_bytes(digest, "big") % n_virtual


class ShardMap:
    """Key -> virtual shard (fixed) and virtual shard -> shard (changed by :meth:`move`).

    Parameters
    ----------
    shards
        How many shards (workers) there are.
    n_virtual
        How many virtual shards; fixed for the life of the data (it decides the folders).
    assignment
        The shard of each virtual shard (round robin when ``None``).

    >>> m = ShardMap(shards=2, n_virtual=8)
    >>> m.assignment
    [0, 1, 0, 1, 0, 1, 0, 1]
    >>> v = m.virtual_of(["a", "b"]).tolist()
    >>> m.move(v[0], to=1 - m.assignment[v[0]]).version
    1
    >>> ShardMap.from_dict(m.to_dict()) == m
    True
    """

    def __init__(
        self,
        shards: int,
        n_virtual: int = 256,
        assignment: list[int] | None = None,
        version: int = 0,
    ) -> None:
        if not isinstance(shards, int) or shards < 1:
            raise ParameterError(f"ShardMap: shards == {shards!r}, must be an int >= 1")
        if not isinstance(n_virtual, int) or n_virtual < shards:
            raise ParameterError(
                f"ShardMap: n_virtual == {n_virtual!r}, must be an int >= shards ({shards})"
            )
        if assignment is None:
            assignment = [v % shards for v in range(n_virtual)]
        assignment = [int(s) for s in assignment]
        if len(assignment) != n_virtual or not all(0 <= s < shards for s in assignment):
            raise ParameterError(
                f"ShardMap: assignment must give each of the {n_virtual} virtual shards a shard "
                f"in 0..{shards - 1}, got {len(assignment)} entries"
            )
        self.shards = shards
        self.n_virtual = n_virtual
        self.assignment = assignment
        self.version = int(version)
        self._cache: dict[Any, int] = {}

    def virtual_of(self, keys: Any, where: str = "key") -> np.ndarray:
        """The virtual shard of each key (hashing each distinct key once)."""
        codes, uniques = pd.factorize(pd.Series(np.asarray(keys, dtype=object)), sort=False)
        if (codes < 0).any():
            row = int(np.argmax(codes < 0))
            raise InputError(f"{where} row {row}: a key is missing (None or NaN)", row=row)
        cache = self._cache
        if len(cache) > 1_000_000:  # a bound on memory for endless new keys
            cache.clear()
        out = np.empty(len(uniques), dtype=np.int64)
        for j, key in enumerate(uniques):
            v = cache.get(key)
            if v is None:
                try:
                    v = cache[key] = virtual_shard(key, self.n_virtual, where)
                except InputError as e:
                    row = int(np.argmax(codes == j))
                    raise InputError(f"{e} (row {row})", column=e.column, row=row) from None
            out[j] = v
        return out[codes]

    def shard_of_virtual(self, vshards: np.ndarray) -> np.ndarray:
        return np.asarray(self.assignment, dtype=np.int64)[vshards]

    def owned_by(self, shard: int) -> list[int]:
        """The virtual shards of ``shard``, in order."""
        return [v for v, s in enumerate(self.assignment) if s == shard]

    def move(self, vshard: int, to: int) -> ShardMap:
        """Assign ``vshard`` to shard ``to`` (in place; returns self)."""
        if not 0 <= vshard < self.n_virtual:
            raise ParameterError(
                f"ShardMap.move: vshard == {vshard}, must be in 0..{self.n_virtual - 1}"
            )
        if not 0 <= to < self.shards:
            raise ParameterError(f"ShardMap.move: to == {to}, must be in 0..{self.shards - 1}")
        self.assignment[vshard] = int(to)
        self.version += 1
        return self

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": MAP_FORMAT,
            "shards": self.shards,
            "n_virtual": self.n_virtual,
            "assignment": list(self.assignment),
            "version": self.version,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ShardMap:
        if not isinstance(data, dict) or data.get("format") != MAP_FORMAT:
            raise ParameterError(f"not a shard map (expected 'format': {MAP_FORMAT!r})")
        return cls(data["shards"], data["n_virtual"], data["assignment"], data["version"])

    def to_json(self) -> str:
        return json.dumps(self.to_dict())

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ShardMap) and self.to_dict() == other.to_dict()

    def __repr__(self) -> str:
        return f"ShardMap(shards={self.shards}, n_virtual={self.n_virtual}, version={self.version})"
