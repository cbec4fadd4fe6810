"""Fuzzing the W&B readers: a real offline run's ``.wandb`` log cut, flipped and overwritten in
every kind of place, and legacy ``wandb-history.jsonl`` files with every kind of bad line.

Whatever the damage, a read gives a prefix of the pristine run (each point at its position),
with a one-line note saying where it stopped, or an :class:`UnreadableLog`; never another
exception. ``benchmarks/fuzz.py`` runs the same mutators for minutes.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from runwise_core import views
from runwise_core.catalog import Catalog
from runwise_core.errors import RunwiseError, UnreadableLog
from test_fuzz_support import fuzz_settings
from test_fuzz_support import write_tree
from test_fuzz_support import (LINE_MUTATIONS, WANDB_MUTATIONS, assert_jsonl_read, assert_wandb_prefix,
                               chunk_offsets, clean_cut_lengths, jsonl_case, mutate_wandb)
from wandb_runs import make_run

FUZZ = fuzz_settings(60)


class Pristine(tuple):
    def __repr__(self) -> str:  # hypothesis prints the arguments of a failing case
        return "<pristine finished run>"


@pytest.fixture(scope="module")
def pristine(tmp_path_factory):
    base = tmp_path_factory.mktemp("fuzz-wandb")
    make_run(base / "src", "finished")
    folder = next((base / "src" / "wandb").glob("offline-run-*"))
    log = next(folder.glob("*.wandb"))
    data = log.read_bytes()
    full = Catalog([folder]).runs()[0]
    assert full.rows == 200 and full.exited and not full.read_notes
    return Pristine((folder, log.name, data, chunk_offsets(data), full, clean_cut_lengths(data)))


def _read_damaged(pristine, tmp_path: Path, data: bytes):
    folder, log_name, *_ = pristine
    copy = tmp_path / folder.name
    if not copy.exists():
        shutil.copytree(folder, copy)
    (copy / log_name).write_bytes(data)
    return Catalog([copy]).runs()[0]


def test_the_own_framing_walk_finds_every_record(pristine):
    _, _, data, offsets, _, _ = pristine
    assert offsets[0] == 7 and len(offsets) > 400  # every record of a 200-row run, and more


@FUZZ
@given(kind=st.sampled_from(WANDB_MUTATIONS), a=st.integers(0, 2**31), b=st.integers(0, 2**31))
def test_damaged_wandb_log_reads_a_prefix_with_a_note_or_a_clear_error(pristine, tmp_path, kind, a, b):
    *_, data, offsets, full, clean = pristine
    damaged = mutate_wandb(data, offsets, kind, a, b)
    what = f"{kind}({a}, {b})"
    try:
        run = _read_damaged(pristine, tmp_path, damaged)
    except UnreadableLog as err:
        assert len(damaged) < 7 or damaged[:7] != data[:7], f"{what}: a good header refused: {err}"
        assert ".wandb" in str(err) and "\n" not in str(err)
        return
    assert_wandb_prefix(run, full, what, damaged == data[:len(damaged)] and len(damaged) in clean)
    for note in run.read_notes:
        assert "\n" not in note, what
    # the views over a damaged run answer or refuse clearly, never raise anything else
    for view in (lambda r: views.run_view(r), lambda r: views.keys_view(r), lambda r: views.stats_view(r),
                 lambda r: views.history_view(r, None, 20), lambda r: views.live_view(r)):
        try:
            view(run)
        except RunwiseError:
            pass


@settings(FUZZ, max_examples=25)
@given(a=st.integers(0, 2**31), b=st.integers(0, 2**31), times=st.integers(1, 4))
def test_records_forged_with_a_matching_checksum_never_crash_the_decoder(pristine, tmp_path, a, b, times):
    """Bits flipped inside records whose checksums were made to match: the framing cannot see
    it, the protobuf decoder must refuse or skip what it cannot use, never raise."""
    *_, data, offsets, _full, _clean = pristine
    damaged = data
    for i in range(times):
        damaged = mutate_wandb(damaged, offsets, "forged_payload", a + i * 7919, b + i)
    try:
        run = _read_damaged(pristine, tmp_path, damaged)
    except UnreadableLog:
        return
    for view in (views.run_view, views.keys_view, views.stats_view, views.live_view):
        try:
            view(run)
        except RunwiseError:
            pass


@pytest.mark.parametrize("kind", WANDB_MUTATIONS)
def test_every_wandb_mutation_at_the_second_block(pristine, tmp_path, kind):
    """One fixed case per mutation: the place right after the first block boundary."""
    *_, data, offsets, full, clean = pristine
    second = next(i for i, off in enumerate(offsets) if off > 32 * 1024)
    damaged = mutate_wandb(data, offsets, kind, second, 3)
    if kind in ("cut_header", "wrong_magic"):
        with pytest.raises(UnreadableLog):
            _read_damaged(pristine, tmp_path, damaged)
        return
    run = _read_damaged(pristine, tmp_path, damaged)
    assert_wandb_prefix(run, full, kind, damaged == data[:len(damaged)] and len(damaged) in clean)
    if kind != "append_garbage":
        assert run.rows < full.rows


# -- legacy wandb-history.jsonl ----------------------------------------------------------------------

def _legacy_folder(tmp_path: Path, history: bytes) -> Path:
    folder = tmp_path / "wandb" / "run-20240101_000000-legacy1"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "wandb-metadata.json").write_text(json.dumps({"name": "old", "state": "finished"}))
    (folder / "wandb-history.jsonl").write_bytes(history)
    return folder


@FUZZ
@given(kinds=st.lists(st.tuples(st.sampled_from(LINE_MUTATIONS), st.integers(0, 10_000)), min_size=1, max_size=12),
       cut=st.none() | st.integers(0, 200))
def test_legacy_history_with_bad_lines_keeps_every_good_point(tmp_path, kinds, cut):
    case = jsonl_case(kinds, cut, step_key="_step", bom_anywhere=True, wandb_times=True)
    run = Catalog([_legacy_folder(tmp_path, case.data)]).runs()[0]
    assert_jsonl_read(run, case, f"{kinds} cut {cut}", keep=None)


@pytest.mark.parametrize("history,keys", [
    (b'{"_step": 0, "loss": 1.0}\n{"_step": 1, "loss": 1' + b"0" * 400 + b"}\n", {"loss": [(0, 1.0)]}),
    (b'{"_step": 0, "loss": 1.0}\n{"_step": 1e30, "loss": 2.0}\n{"_step": 2, "loss": 3.0}\n',
     {"loss": [(0, 1.0), (1, 2.0), (2, 3.0)]}),
    (b'{"_step": 0, "loss": 1.0}\n{"_step": -99999999999999999999999, "loss": 2.0}\n',
     {"loss": [(0, 1.0), (1, 2.0)]}),
])
def test_legacy_numbers_beyond_float_or_int64_are_not_points(tmp_path, history, keys):
    """An int too big for a float is not a measurement; a step beyond int64 is no step (the
    row takes its row number, as a row without ``_step`` does)."""
    run = Catalog([_legacy_folder(tmp_path, history)]).runs()[0]
    assert {k: list(zip(s.steps.tolist(), s.values.tolist())) for k, s in run.metrics.items()} == keys


@pytest.mark.parametrize("zeros", [1, 3, 6])
def test_a_few_zero_bytes_after_a_record_are_a_torn_chunk_header_with_a_note(pristine, tmp_path, zeros):
    """Fewer than 7 zero bytes where a chunk header would fit are not block padding: a chunk
    header cut after its zero bytes (a crc starting with 0x00), or a short zero-filled tail."""
    *_, data, offsets, full, _clean = pristine
    end = next(off for off in offsets if off > 40_000 and 32 * 1024 - off % (32 * 1024) > 7 + 6)
    run = _read_damaged(pristine, tmp_path, data[:end] + bytes(zeros))
    assert_wandb_prefix(run, full, f"{zeros} zeros")
    assert run.rows < full.rows and len(run.read_notes) == 1


def _log_of(*records) -> bytes:
    """A .wandb log holding ``records`` (protobuf Records), one full chunk each, in block 0."""
    import struct
    import zlib

    out = b":W&B" + struct.pack("<HB", 0xBEE1, 0)
    for record in records:
        payload = record.SerializeToString()
        out += struct.pack("<IHB", zlib.crc32(payload, zlib.crc32(b"\x01")), len(payload), 1) + payload
    assert len(out) < 32 * 1024
    return out


def test_records_with_empty_keys_are_skipped_not_a_crash(tmp_path):
    """Items whose key is empty (a record damaged under a matching checksum): a stats item has
    no ``nested_key`` to fall back on."""
    from wandb.proto import wandb_internal_pb2 as pb

    stats = pb.Record(stats=pb.StatsRecord(item=[pb.StatsItem(value_json="1.5")]))
    stats.stats.timestamp.seconds = 1_700_000_000
    history = pb.Record(history=pb.HistoryRecord(item=[pb.HistoryItem(value_json="2.5"),
                                                      pb.HistoryItem(key="loss", value_json="0.5")]))
    summary = pb.Record(summary=pb.SummaryRecord(update=[pb.SummaryItem(value_json="3")]))
    config = pb.Record(config=pb.ConfigRecord(update=[pb.ConfigItem(value_json="4")]))
    folder = tmp_path / "wandb" / "offline-run-20240101_000000-empty9"
    write_tree(folder, {"run-empty9.wandb": _log_of(stats, history, summary, config)})
    run = Catalog([folder]).runs()[0]
    assert run.metrics["loss"].values.tolist() == [0.5]


def test_numbers_beyond_float_or_int64_in_records_are_not_points(tmp_path):
    """Python ints have no size limit and wandb writes them as JSON digits: a logged 10**400 is
    no float, a ``_step`` of 1e30 no step (the row takes its row number, as without one)."""
    from wandb.proto import wandb_internal_pb2 as pb

    def row(**values):
        return pb.Record(history=pb.HistoryRecord(item=[pb.HistoryItem(key=k, value_json=v) for k, v in values.items()]))

    folder = tmp_path / "wandb" / "offline-run-20240101_000000-huge1"
    write_tree(folder, {"run-huge1.wandb": _log_of(
        row(_step="0", loss="1.0", big="1" + "0" * 400),
        row(_step="1e30", loss="0.5", nested='{"a": ' + "9" * 400 + "}"),
        row(_step=str(2**63), loss="0.25"))})
    run = Catalog([folder]).runs()[0]
    assert list(zip(run.metrics["loss"].steps.tolist(), run.metrics["loss"].values.tolist())) == [
        (0, 1.0), (1, 0.5), (2, 0.25)]
    assert "nested.a" not in run.metrics
    # a top-level number beyond float range decodes as the float it overflows to
    assert "big" not in run.metrics or run.metrics["big"].values.tolist() == [float("inf")]


# -- records that frame and parse, with any values inside --------------------------------------------

_values = st.recursive(
    st.none() | st.booleans() | st.integers(-10**30, 10**30) | st.sampled_from([10**400, 2**63, -2**63 - 1])
    | st.floats() | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(["_type", "a", "b", "value"]), inner,
                                                                 max_size=3), max_leaves=6)
_value_json = _values.map(json.dumps) | st.sampled_from(["", "{", "NaN", "Infinity", "1e400", "1" * 500, '"x"', "[1,2"])
_keys = st.sampled_from(["loss", "_step", "_timestamp", "_runtime", "", "a.b", "_wandb", "x"])


@st.composite
def _record(draw):
    from wandb.proto import wandb_internal_pb2 as pb

    kind = draw(st.sampled_from(["history", "summary", "config", "stats", "run", "exit", "output"]))
    r = pb.Record()
    if kind == "history":
        for _ in range(draw(st.integers(0, 4))):
            item = r.history.item.add()
            item.key, item.value_json = draw(_keys), draw(_value_json)
        if draw(st.booleans()):
            r.history.step.num = draw(st.integers(-2**63, 2**63 - 1))
    elif kind in ("summary", "config"):
        item = getattr(r, kind).update.add()
        item.key, item.value_json = draw(_keys), draw(_value_json)
    elif kind == "stats":
        item = r.stats.item.add()
        item.key, item.value_json = draw(_keys), draw(_value_json)
        r.stats.timestamp.seconds = draw(st.integers(0, 2**40))
    elif kind == "run":
        r.run.run_id, r.run.display_name = draw(st.text(max_size=5)), draw(st.text(max_size=5))
        r.run.start_time.seconds = draw(st.integers(0, 2**40))
        item = r.run.config.update.add()
        item.key, item.value_json = draw(_keys), draw(_value_json)
    elif kind == "exit":
        r.exit.exit_code, r.exit.runtime = draw(st.integers(-2**31, 2**31 - 1)), draw(st.integers(-2**31, 2**31 - 1))
    else:
        r.output.line = draw(st.text(max_size=20))
        r.output.timestamp.seconds = draw(st.integers(0, 2**40))
    return r


@settings(FUZZ, max_examples=80)
@given(records=st.lists(_record(), max_size=10))
def test_records_with_any_values_inside_are_read_or_refused_never_a_crash(tmp_path, records):
    """Well-framed, well-formed records whose values are anything JSON (or not JSON at all):
    huge ints, NaN, nested dicts, empty keys, steps at the int64 edges."""
    folder = tmp_path / "wandb" / "offline-run-20240101_000000-vals1"
    write_tree(folder, {"run-vals1.wandb": _log_of(*records)})
    try:
        run = Catalog([folder], cache=None).runs()[0]
    except UnreadableLog:
        return
    for view in (views.run_view, views.keys_view, views.stats_view, views.live_view, views.config_view,
                 lambda r: views.history_view(r, None, 20), lambda r: views.compare_view(r, r)):
        try:
            view(run)
        except RunwiseError:
            pass
