"""The vectorised decoder (``wandb_rows``/``wandb_batch``) gives exactly what protobuf gives.

Each real offline run is read twice: once as runwise reads it, once with every record sent
down the protobuf path. The two segments must agree field for field and point for point,
NaN and infinities included, and so must reads whose batches are cut small (so that a batch
boundary falls everywhere) and reads of damaged copies.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from runwise_core.sources import wandb_binary
from runwise_core.sources.wandb_framing import HEADER, ReadReport, iter_payloads
from runwise_core.sources.wandb_segment import Segment
from wandb_runs import make_run

SCENARIOS = ("finished", "wide", "killed", "failed", "console")


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, Path]:
    out = {}
    for scenario in SCENARIOS:
        base = tmp_path_factory.mktemp(f"fast-{scenario}")
        make_run(base, scenario)
        out[scenario] = next((base / "wandb").glob("offline-run-*"))
    return out


def read(folder: Path, *, slow: bool = False, batch: int | None = None, monkeypatch=None) -> Segment:
    log = next(folder.glob("*.wandb"))
    if slow:
        real = wandb_binary.classify

        def nothing_fast(payloads, keys):
            out = real(payloads, keys)
            out.good[:] = False
            return out

        monkeypatch.setattr(wandb_binary, "classify", nothing_fast)
    if batch is not None:
        monkeypatch.setattr(wandb_binary, "BATCH_RECORDS", batch)
    try:
        return wandb_binary.read_segment(folder, log, folder.name.rsplit("-", 1)[-1])
    finally:
        if monkeypatch is not None:
            monkeypatch.undo()


def same(a, b) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    if isinstance(a, dict) and isinstance(b, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    return type(a) is type(b) and a == b


def assert_same_segment(fast: Segment, slow: Segment) -> None:
    for name in Segment.__dataclass_fields__:
        a, b = getattr(fast, name), getattr(slow, name)
        if name in ("metrics", "system"):
            assert list(a) == list(b), name
            for key in a:
                assert np.array_equal(a[key].steps, b[key].steps), (name, key)
                assert np.array_equal(a[key].values, b[key].values, equal_nan=True), (name, key)
        elif name == "timestamps":
            assert (a is None) == (b is None)
            if a is not None:
                assert np.array_equal(a.steps, b.steps) and np.array_equal(a.values, b.values)
        else:
            assert same(a, b), f"{name}: {a!r} != {b!r}"


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_vectorised_read_equals_protobuf_read(runs, scenario, monkeypatch):
    folder = runs[scenario]
    fast = read(folder)
    assert_same_segment(fast, read(folder, slow=True, monkeypatch=monkeypatch))
    assert fast.rows > 0


@pytest.mark.parametrize("batch", [1, 2, 3, 7, 64])
def test_batch_boundaries_change_nothing(runs, batch, monkeypatch):
    folder = runs["finished"]
    assert_same_segment(read(folder, batch=batch, monkeypatch=monkeypatch), read(folder))


def test_the_fast_path_really_takes_the_history_and_summary_records(runs, monkeypatch):
    folder = runs["finished"]
    taken = []
    real = wandb_binary.classify

    def spy(payloads, keys):
        out = real(payloads, keys)
        taken.append((int(out.good.sum()), len(payloads)))
        return out

    monkeypatch.setattr(wandb_binary, "classify", spy)
    read(folder)
    good, total = map(sum, zip(*taken))
    assert good > 0.9 * total  # media rows and non-history records are the slow rest


@pytest.mark.parametrize("flip", [0.3, 0.5, 0.8])
def test_a_flipped_value_byte_is_read_the_same_by_both_paths(runs, tmp_path, flip, monkeypatch):
    """Damage inside a record with a fixed-up checksum: both paths must still agree (the
    fast path must refuse what it cannot prove, not guess)."""
    import shutil
    import struct
    import zlib

    folder = tmp_path / runs["finished"].name
    shutil.copytree(runs["finished"], folder)
    log = next(folder.glob("*.wandb"))
    data = bytearray(log.read_bytes())
    # Walk the chunks; pick a chunk at ``flip`` of the file and change a byte, fixing its crc.
    pos, chunks = HEADER, []
    while pos + 7 <= len(data):
        block_left = 32768 - pos % 32768
        if block_left < 7:
            pos += block_left
            continue
        crc, length, kind = struct.unpack_from("<IHB", data, pos)
        if length == 0 and kind == 0:
            break
        chunks.append((pos, length, kind))
        pos += 7 + length
    at, length, kind = chunks[int(len(chunks) * flip)]
    for offset in range(0, length, max(1, length // 24)):
        data[at + 7 + offset] ^= 0x01 if offset % 3 else 0x80
        crc = zlib.crc32(bytes(data[at + 7:at + 7 + length]), zlib.crc32(bytes([kind])))
        struct.pack_into("<I", data, at, crc)
        log.write_bytes(bytes(data))
        fast = read(folder)
        assert_same_segment(fast, read(folder, slow=True, monkeypatch=monkeypatch))
        data[at + 7 + offset] ^= 0x01 if offset % 3 else 0x80
    struct.pack_into("<I", data, at, zlib.crc32(bytes(data[at + 7:at + 7 + length]), zlib.crc32(bytes([kind]))))


def test_every_record_boundary_cut_agrees(runs, tmp_path, monkeypatch):
    src = runs["finished"]
    log = next(src.glob("*.wandb"))
    report = ReadReport(log)
    ends = []
    for _ in iter_payloads(log, report, HEADER):
        ends.append(report.end_offset)
    data = log.read_bytes()
    import shutil

    folder = tmp_path / src.name
    shutil.copytree(src, folder)
    cut_log = next(folder.glob("*.wandb"))
    for end in ends[:: max(1, len(ends) // 25)]:
        cut_log.write_bytes(data[:end + 3])
        assert_same_segment(read(folder), read(folder, slow=True, monkeypatch=monkeypatch))
