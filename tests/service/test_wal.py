import os
import threading

import pytest

from tidal.service.recovery import DataLossError
from tidal.service.wal import WriteAheadLog


def _events(log):
    return list(log.replay(after=0))


def test_append_reopen_replay_in_order(tmp_path):
    log = WriteAheadLog(tmp_path)
    assert log.append_many([{"i": 1}, {"i": 2}]) == 2
    assert log.append_many([{"i": 3}]) == 3
    log.close()
    log = WriteAheadLog(tmp_path)
    assert _events(log) == [(1, {"i": 1}), (2, {"i": 2}), (3, {"i": 3})]
    assert list(log.replay(after=2)) == [(3, {"i": 3})]
    assert [(f, [e["i"] for e in evs]) for f, evs in log.replay_batches(after=1)] == [
        (2, [2]),
        (3, [3]),
    ]
    assert log.append_many([{"i": 4}]) == 4  # numbering continues after a restart
    log.close()


def test_group_commit_every_acked_event_once(tmp_path):
    fsyncs = []
    log = WriteAheadLog(tmp_path, on_fsync=lambda s, n: fsyncs.append(n))
    acked = {}
    lock = threading.Lock()

    def writer(t):
        for k in range(40):
            seq = log.append_many([{"t": t, "k": k, "j": j} for j in range(3)])
            assert log.durable_seq >= seq  # acknowledged only once on disk
            with lock:
                acked[(t, k)] = seq

    threads = [threading.Thread(target=writer, args=(t,)) for t in range(8)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    log.close()
    events = _events(WriteAheadLog(tmp_path))
    assert [s for s, _ in events] == list(range(1, 8 * 40 * 3 + 1))
    keys = [(e["t"], e["k"], e["j"]) for _, e in events]
    assert len(set(keys)) == len(keys) == 960
    for (t, k), seq in acked.items():
        assert events[seq - 1][1] == {"t": t, "k": k, "j": 2}  # a batch stays contiguous
    # 320 appends shared fewer fsyncs: the point of group commit
    assert sum(fsyncs) == 320 and len(fsyncs) < 320


@pytest.mark.parametrize("cut", [1, 7, 19, 23, 30])
def test_torn_tail_is_truncated_to_the_last_valid_record(tmp_path, cut):
    log = WriteAheadLog(tmp_path)
    log.append_many([{"i": 1}])
    log.append_many([{"i": 2}, {"i": 3}])
    size_before_last = log.segments[-1].stat().st_size
    log.append_many([{"i": 4}])
    log.close()
    seg = log.segments[-1]
    data = seg.read_bytes()
    seg.write_bytes(data[: size_before_last + min(cut, len(data) - size_before_last - 1)])
    log = WriteAheadLog(tmp_path)
    assert [s for s, _ in _events(log)] == [1, 2, 3]
    assert seg.stat().st_size == size_before_last  # the torn bytes are gone
    assert log.append_many([{"i": "new"}]) == 4
    log.close()
    assert _events(WriteAheadLog(tmp_path))[-1] == (4, {"i": "new"})


def test_a_damaged_last_record_is_a_named_loss_not_a_torn_tail(tmp_path):
    log = WriteAheadLog(tmp_path)
    log.append_many([{"i": 1}])
    log.append_many([{"i": 2}])
    log.close()
    seg = log.segments[-1]
    data = bytearray(seg.read_bytes())
    first_size = len(data) // 2
    data[-2] ^= 0xFF  # flip bits in the last record's payload: it was whole, so acknowledged
    seg.write_bytes(bytes(data))
    with pytest.raises(DataLossError, match=f"{seg} at byte {first_size}: event 2 lost"):
        WriteAheadLog(tmp_path)
    assert seg.read_bytes() == bytes(data)  # refused, nothing changed on disk


def test_one_bad_byte_mid_segment_keeps_the_records_after_it_and_names_the_loss(tmp_path):
    log = WriteAheadLog(tmp_path)
    for i in range(1, 11):
        log.append_many([{"i": i}, {"i": -i}])
    log.close()
    seg = log.segments[-1]
    data = bytearray(seg.read_bytes())
    size = len(data) // 10
    data[3 * size + 5] ^= 0x01  # the header of the fourth record: events 7..8
    seg.write_bytes(bytes(data))
    with pytest.raises(DataLossError, match=rf"at byte {3 * size}: events 7\.\.8 lost") as e:
        WriteAheadLog(tmp_path)
    assert len(e.value.losses) == 1
    # a snapshot at 8 or later covers it: the log opens, and the 12 events after it replay
    log = WriteAheadLog(tmp_path, start_seq=8)
    assert [s for s, _ in log.replay(after=8)] == list(range(9, 21))
    assert log.append_many([{"i": 21}]) == 21  # in a new segment, not after the damage
    assert len(log.segments) == 2
    log.close()


def test_corruption_in_an_older_segment_is_an_error(tmp_path):
    log = WriteAheadLog(tmp_path, segment_bytes=50)
    for i in range(6):
        log.append_many([{"i": i, "pad": "x" * 20}])
    log.close()
    assert len(log.segments) >= 3
    first = log.segments[0]
    data = bytearray(first.read_bytes())
    data[-1] ^= 0xFF
    first.write_bytes(bytes(data))
    with pytest.raises(DataLossError, match=f"{first} at byte"):
        WriteAheadLog(tmp_path)


def test_segments_roll_and_compaction_deletes_only_covered_ones(tmp_path):
    log = WriteAheadLog(tmp_path, segment_bytes=60)
    for i in range(10):
        log.append_many([{"i": i, "pad": "y" * 30}])
    n = len(log.segments)
    assert n >= 5
    firsts = [int(p.stem) for p in log.segments]
    covered = firsts[3] - 1  # segments 0..2 are wholly <= covered
    assert log.compact(covered) == 3
    assert [int(p.stem) for p in log.segments] == firsts[3:]
    assert [s for s, _ in log.replay(after=covered)] == list(range(covered + 1, 11))
    log.compact(10**9)  # never deletes the segment being written
    assert len(log.segments) == 1 and log.segments[0].exists()
    log.close()
    log = WriteAheadLog(tmp_path, start_seq=10)
    assert log.append_many([{"i": 10}]) == 11
    log.close()


def test_start_seq_beyond_log_continues_numbering(tmp_path):
    # a snapshot may cover events whose segments are already deleted
    log = WriteAheadLog(tmp_path, start_seq=41)
    assert log.last_seq == 41 and log.append_many([{"i": 1}]) == 42
    log.close()
    log = WriteAheadLog(tmp_path, start_seq=41)
    assert log.last_seq == 42 and _events(log) == [(42, {"i": 1})]
    log.close()
    with pytest.raises(DataLossError, match=r"events 1\.\.41 lost \(not in the log"):
        WriteAheadLog(tmp_path)  # without the snapshot that covers them


def test_non_json_event_is_refused_before_numbering(tmp_path):
    log = WriteAheadLog(tmp_path)
    with pytest.raises(ValueError):
        log.append_many([{"x": float("nan")}])
    assert log.last_seq == 0
    log.close()
    assert os.path.getsize(log.segments[-1]) == 0


def test_a_log_of_the_older_format_is_read_and_continued_in_a_new_segment(tmp_path):
    import json
    import struct
    import zlib

    def v1(first, events):  # u32 length | u32 crc32 | u64 first_seq | u32 count | payload
        payload = json.dumps(events, separators=(",", ":")).encode()
        crc = zlib.crc32(payload, zlib.crc32(struct.pack("<QI", first, len(events))))
        return struct.pack("<IIQI", len(payload), crc, first, len(events)) + payload

    seg = tmp_path / f"{1:020d}.wal"
    seg.write_bytes(v1(1, [{"i": 1}, {"i": 2}]) + v1(3, [{"i": 3}]))
    log = WriteAheadLog(tmp_path)
    assert [s for s, _ in _events(log)] == [1, 2, 3]
    assert log.append_many([{"i": 4}]) == 4
    log.close()
    log = WriteAheadLog(tmp_path)  # the new record did not go after the old ones
    assert _events(log) == [(1, {"i": 1}), (2, {"i": 2}), (3, {"i": 3}), (4, {"i": 4})]
    assert len(log.segments) == 2
    log.close()
