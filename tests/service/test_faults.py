"""Fault injection over a data folder: every damaged copy either recovers with nothing lost, or
refuses to start naming file, offset and events lost -- never a silent gap.

One pristine folder (two snapshots, a log of many small segments from the older snapshot on)
is damaged in 200+ ways (bit flips, truncations, zeroed ranges, deleted or swapped segments,
damaged, truncated or deleted snapshots), each on a fresh copy, in process. A start is checked
against a reference model fed the same batches: the recovered model must equal, bit for bit, the
reference after every event. The one exception is named: the last segment cut short looks
exactly like the torn tail a crash leaves (the last write, never acknowledged), so it may start
with a prefix of the events -- and then it must say so in the log, unless the cut fell exactly
between two records (no trace is left: that needs a record of the acknowledged position outside
the log, which costs a second fsync per commit). A refused start must leave
the folder as it was; ``accept_loss`` must then start from a consistent prefix (equal to the
reference at its position) and keep every original byte (moved aside, never deleted).
"""

from __future__ import annotations

import copy
import hashlib
import logging
import random
import shutil
from pathlib import Path

import pytest

from tidal import zoo
from tidal.service.host import ModelHost
from tidal.service.recovery import DataLossError
from tidal.service.walscan import scan_segment

from .helpers import assert_state_equal, crash, make_stream

N_BATCHES = 60
SEED = 20261207


def _host(data: Path, **kw) -> ModelHost:
    return ModelHost("m", zoo.make("lr"), data, segment_bytes=1500, **kw)


@pytest.fixture(scope="module")
def pristine(tmp_path_factory):
    """The folder, and the reference state after each batch: {seq: state}."""
    data = tmp_path_factory.mktemp("pristine")
    rows, labels = make_stream(2000, seed=11)
    rng = random.Random(SEED)
    host = _host(data)
    ref = zoo.make("lr")
    states = {0: copy.deepcopy(ref.state_dict())}
    i = 0
    for b in range(N_BATCHES):
        n = rng.randint(1, 16)
        ids = [f"ev{j}" for j in range(i, i + n)]
        res = host.learn(rows[i : i + n], labels[i : i + n], event_ids=ids)
        ref.learn_many(rows[i : i + n], labels[i : i + n])
        states[res.last_seq] = copy.deepcopy(ref.state_dict())
        i += n
        if b in (20, 40):
            host.snapshot()
    last = host.applied_seq
    host.wal.close()  # as if killed: the log after the newest snapshot must be replayed
    snaps = sorted((data / "snapshots" / "m").glob("*.npz"))
    segs = sorted((data / "wal" / "m").glob("*.wal"))
    assert len(snaps) == 2 and len(segs) >= 10 and int(segs[0].stem) <= int(snaps[0].stem) + 1
    return data, states, last


def _files(folder: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(folder)): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.name != "lock"
    }


def _flip(path: Path, rng: random.Random) -> None:
    data = bytearray(path.read_bytes())
    data[rng.randrange(len(data))] ^= 1 << rng.randrange(8)
    path.write_bytes(bytes(data))


def _cut(path: Path, rng: random.Random) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: rng.randrange(len(data))])


def _zero(path: Path, rng: random.Random) -> None:
    data = bytearray(path.read_bytes())
    a = rng.randrange(len(data))
    b = min(len(data), a + rng.randint(1, 64))
    data[a:b] = bytes(b - a)
    path.write_bytes(bytes(data))


def _damage(kind: str, folder: Path, rng: random.Random) -> tuple[str, bool, bool]:
    """Apply one fault; returns (what, whether it may pass for a torn tail, whether it cut
    the last segment exactly between two records: no trace at all)."""
    segs = sorted((folder / "wal" / "m").glob("*.wal"))
    snaps = sorted((folder / "snapshots" / "m").glob("*.npz"))
    if kind in ("flip", "cut", "zero"):
        seg = rng.choice(segs)
        original = seg.read_bytes()
        {"flip": _flip, "cut": _cut, "zero": _zero}[kind](seg, rng)
        size = seg.stat().st_size
        ends = {0} | {r[1] for r in scan_segment(original).records}
        # the end of the last segment cut off (or zeroed to its end) is a crash's torn tail
        torn = seg == segs[-1] and kind in ("cut", "zero")
        return f"{kind} {seg.name} ({size} bytes left)", torn, torn and size in ends
    if kind == "delete":
        seg = rng.choice(segs)
        seg.unlink()
        return f"delete {seg.name}", False, False
    if kind == "swap":
        a, b = rng.sample(segs, 2)
        da, db = a.read_bytes(), b.read_bytes()
        a.write_bytes(db)
        b.write_bytes(da)
        return f"swap {a.name} {b.name}", False, False
    snap = rng.choice(snaps)
    if kind == "snap_flip":
        _flip(snap, rng)
    elif kind == "snap_cut":
        _cut(snap, rng)
    elif kind == "snap_delete":
        snap.unlink()
    elif kind == "snaps_both":
        for s in snaps:
            _flip(s, rng)
    return f"{kind} {snap.name}", False, False


KINDS = {
    "flip": 50,
    "cut": 30,
    "zero": 20,
    "delete": 20,
    "swap": 20,
    "snap_flip": 30,
    "snap_cut": 20,
    "snap_delete": 6,
    "snaps_both": 10,
}


def test_fault_injection_recovers_whole_or_refuses_naming_the_loss(pristine, tmp_path, caplog):
    data, states, last = pristine
    rng = random.Random(SEED)
    outcomes = {"whole": 0, "refused": 0, "torn_prefix": 0}
    case = 0
    for kind, n in KINDS.items():
        for _ in range(n):
            case += 1
            folder = tmp_path / f"c{case}"
            shutil.copytree(data, folder)
            what, may_be_torn, no_trace = _damage(kind, folder, rng)
            before = _files(folder)
            caplog.clear()
            try:
                with caplog.at_level(logging.WARNING, "tidal.service"):
                    host = _host(folder)
            except DataLossError as e:
                outcomes["refused"] += 1
                assert e.losses, what
                for loss in e.losses:
                    assert loss.path.exists() and str(loss.path) in str(e), what
                    assert 1 <= loss.first <= last and (loss.last or loss.first) >= loss.first
                assert _files(folder) == before, f"{what}: a refused start changed the folder"
                _accept(folder, states, before, what)
                shutil.rmtree(folder)
                continue
            seq = host.applied_seq
            assert seq in states, f"{what}: recovered at {seq}, not a batch boundary"
            assert_state_equal(host.state_dict(), states[seq], f"{what}: state")
            if seq == last:
                outcomes["whole"] += 1
            else:
                assert may_be_torn, f"{what}: started at {seq} of {last}: a silent loss"
                reported = "torn tail" in caplog.text
                assert reported or no_trace, f"{what}: a cut tail went unreported"
                outcomes["torn_prefix"] += 1
            host.wal.close()
            shutil.rmtree(folder)
    print(f"\nfault injection: {case} cases: {outcomes}")
    assert case >= 200 and outcomes["refused"] > 0 and outcomes["whole"] > 0


def _accept(folder: Path, states: dict, before: dict[str, bytes], what: str) -> None:
    """``accept_loss`` starts from a consistent prefix and keeps every original byte."""
    host = _host(folder, accept_loss=True)
    seq = host.applied_seq
    assert seq in states, f"{what}: accepted at {seq}, not a batch boundary"
    assert_state_equal(host.state_dict(), states[seq], f"{what}: accepted state")
    assert host.repair is not None and host.repair["lost"]
    host.wal.close()
    kept = {hashlib.sha256(b).digest() for b in _files(folder).values()}
    for name, content in before.items():
        assert hashlib.sha256(content).digest() in kept, f"{what}: {name} was deleted"


def test_a_damaged_newest_snapshot_falls_back_and_is_moved_aside(pristine, tmp_path, caplog):
    data, states, last = pristine
    folder = tmp_path / "d"
    shutil.copytree(data, folder)
    newest = sorted((folder / "snapshots" / "m").glob("*.npz"))[-1]
    raw = bytearray(newest.read_bytes())
    raw[len(raw) // 3] ^= 0x10
    newest.write_bytes(bytes(raw))
    with caplog.at_level(logging.WARNING, "tidal.service"):
        host = _host(folder)
    assert host.applied_seq == last
    assert_state_equal(host.state_dict(), states[last])
    assert not newest.exists() and f"snapshot {newest} is damaged" in caplog.text
    moved = list((folder / "damaged").rglob(newest.name))
    assert len(moved) == 1 and moved[0].read_bytes() == bytes(raw)
    host.close()


def test_service_accept_loss_records_it_in_the_audit_log(pristine, tmp_path):
    from tidal.service import ServiceConfig
    from tidal.service.runtime import Service

    data, states, last = pristine
    folder = tmp_path / "d"
    shutil.copytree(data, folder)
    for snap in (folder / "snapshots" / "m").glob("*.npz"):
        snap.write_bytes(snap.read_bytes()[:100])  # every snapshot gone, the log starts late
    cfg = ServiceConfig(data=folder, models={"m": "lr"})
    with pytest.raises(DataLossError, match=r"events 1\.\.\d+ lost"):
        Service(cfg)
    svc = Service(ServiceConfig(data=folder, models={"m": "lr"}, accept_loss=True))
    entries = [e for e in svc.registry.audit("m") if e.action == "accept_loss"]
    assert len(entries) == 1 and "events 1.." in entries[0].reason
    assert entries[0].details["moved"]
    assert svc.hosts["m"].applied_seq == 0  # nothing whole to start from but an empty model
    crash(svc)
