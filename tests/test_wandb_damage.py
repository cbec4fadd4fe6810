"""A damaged .wandb log yields the data up to the damage and one note; never a traceback."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from runwise_core.catalog import Catalog
from runwise_core.errors import UnreadableLog
from runwise_core.sources.wandb_framing import BLOCK, ReadReport, iter_payloads
from wandb_runs import make_run, record_ends


@pytest.fixture(scope="module")
def pristine(tmp_path_factory):
    base = tmp_path_factory.mktemp("damage")
    make_run(base / "src", "finished")
    folder = next((base / "src" / "wandb").glob("offline-run-*"))
    log = next(folder.glob("*.wandb"))
    assert log.stat().st_size > 2 * BLOCK  # the cuts below need at least two blocks
    run = Catalog([folder]).runs()[0]
    return folder, log.name, run


def damaged_copy(pristine, tmp_path: Path, mutate) -> tuple:
    folder, log_name, full = pristine
    copy = tmp_path / folder.name
    shutil.copytree(folder, copy)
    log = copy / log_name
    data = bytearray(log.read_bytes())
    log.write_bytes(bytes(mutate(data)))
    return Catalog([copy]).runs()[0], full


def assert_prefix_of(run, full):
    """Every point read is the full run's point at the same position: a consistent prefix."""
    assert run.rows <= full.rows
    for key, series in run.metrics.items():
        whole = full.metrics[key]
        n = len(series)
        assert np.array_equal(series.steps, whole.steps[:n])
        assert np.array_equal(series.values, whole.values[:n], equal_nan=True)


@pytest.mark.parametrize("cut", [7, 10, 14, 100, BLOCK - 3, BLOCK, BLOCK + 5, BLOCK + 500, 2 * BLOCK + 1])
def test_cut_anywhere_reads_a_prefix_with_a_note(pristine, tmp_path, cut):
    run, full = damaged_copy(pristine, tmp_path, lambda d: d[:cut])
    assert_prefix_of(run, full)
    assert run.rows < full.rows
    assert not run.exited
    folder, log_name, _ = pristine
    if cut > 7 and cut not in record_ends((folder / log_name).read_bytes()):
        assert len(run.read_notes) == 1 and "byte" in run.read_notes[0]
    elif cut > 7:  # a cut exactly after a record (the layout of each new run differs) leaves a valid log
        assert run.read_notes == []



def test_flipped_byte_stops_at_last_good_record(pristine, tmp_path):
    def flip(d):
        d[BLOCK + 100] ^= 0xFF
        return d

    run, full = damaged_copy(pristine, tmp_path, flip)
    assert_prefix_of(run, full)
    assert 0 < run.rows < full.rows
    assert run.read_notes and "bad checksum" in run.read_notes[0]


def test_zero_filled_tail_of_a_killed_writer(pristine, tmp_path):
    folder, log_name, _ = pristine
    report = ReadReport(folder / log_name)
    for n, _payload in enumerate(iter_payloads(folder / log_name, report), 1):
        if report.end_offset > BLOCK + 1000:
            break
    boundary = report.end_offset  # a record boundary in the second block
    run, full = damaged_copy(pristine, tmp_path, lambda d: d[:boundary] + bytes(70000))
    assert_prefix_of(run, full)
    assert 0 < run.rows < full.rows
    assert run.read_notes == [f"zero-filled tail from byte {boundary:,} (the writer was killed); read up to there"]


def test_huge_length_field_does_not_hang_or_raise(pristine, tmp_path):
    def huge(d):
        d[7 + 4:7 + 6] = b"\xff\xff"  # first chunk's length: 65535, past its block
        return d

    run, _ = damaged_copy(pristine, tmp_path, huge)
    assert run.rows == 0 and run.read_notes


@pytest.mark.parametrize("head", [b"", b":W&", b"PK\x03\x04xxxx", b":W&B\x00\x00\x00"])
def test_wrong_or_short_header_is_a_clear_error(pristine, tmp_path, head):
    with pytest.raises(UnreadableLog) as err:
        damaged_copy(pristine, tmp_path, lambda d: head + (d[7:] if len(head) >= 7 else b""))
    assert ".wandb" in str(err.value)
