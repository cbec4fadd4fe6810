"""Shared material for the fuzz tests and ``benchmarks/fuzz.py`` (no tests here).

Mutators take the pristine bytes of a log and a few integers (drawn by hypothesis in the
tests, by a seeded ``random.Random`` in the campaign) and return damaged bytes; oracles say
what a reader may return for them. The rule they enforce is the issue's: a damaged log gives
the data up to the damage, with a note saying what was skipped and where, or a clear
:class:`~runwise_core.errors.RunwiseError`; never another exception, never a value that
differs from the pristine file's value at the same position.
"""

from __future__ import annotations

import json
import math
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, settings

from runwise_core.model import Run


def fuzz_settings(max_examples: int) -> settings:
    """The fuzz tests' hypothesis settings: derandomised (the same cases every run, so
    ``make test`` is repeatable and bounded), no example database, no deadline."""
    return settings(max_examples=max_examples, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])

BLOCK = 32 * 1024
HEADER = 7
CHUNK_HEADER = 7


# -- .wandb (binary transaction log) ----------------------------------------------------------------

def chunk_offsets(data: bytes) -> list[int]:
    """Offsets of every chunk header of a pristine W&B log (its own framing walk, written
    from the format description, independent of the reader under test)."""
    out: list[int] = []
    pos = HEADER
    while pos + CHUNK_HEADER <= len(data):
        left = BLOCK - pos % BLOCK
        if left < CHUNK_HEADER:
            pos += left  # zero padding at the end of a block
            continue
        _crc, length, kind = struct.unpack_from("<IHB", data, pos)
        if kind == 0 and length == 0:
            break
        out.append(pos)
        pos += CHUNK_HEADER + length
    return out


def clean_cut_lengths(data: bytes) -> set[int]:
    """Lengths at which a prefix of ``data`` is itself a whole log: cut right after a record
    (or in the block padding that follows it). Such a cut cannot be told from a log still
    being written, so a reader owes no note for it."""
    ends = {HEADER}
    for off in chunk_offsets(data):
        _crc, length, kind = struct.unpack_from("<IHB", data, off)
        if kind in (1, 4):  # full, last: a record ends here
            ends.add(off + CHUNK_HEADER + length)
    out = set()
    for end in ends:
        out.add(end)
        left = BLOCK - end % BLOCK
        if left < CHUNK_HEADER:
            out.update(range(end, end + left + 1))
    return {n for n in out if n <= len(data)}


WANDB_MUTATIONS = ("cut_header", "cut_chunk_header", "cut_mid_chunk", "cut_block_boundary", "flip_bit",
                   "bad_crc", "zero_tail", "wrong_magic", "huge_length", "zero_run", "append_garbage")
#: Damage the framing cannot detect: the values read may differ from the truth, so only
#: "no crash, no hang" is checked for these.
WANDB_FORGED = ("forged_payload",)


def mutate_wandb(data: bytes, offsets: list[int], kind: str, a: int, b: int) -> bytes:
    """``data`` damaged in the way ``kind`` names, at a place chosen by ``a`` and ``b``."""
    d = bytearray(data)
    n = len(d)
    if n < HEADER + CHUNK_HEADER and kind not in ("cut_header", "append_garbage"):
        return bytes(d)  # (a campaign may damage a file already cut short)
    live = [off for off in offsets if off + CHUNK_HEADER <= n] or [HEADER]
    chunk = live[a % len(live)]
    if kind == "cut_header":
        return bytes(d[:a % HEADER])
    if kind == "cut_chunk_header":
        return bytes(d[:chunk + b % CHUNK_HEADER])
    if kind == "cut_mid_chunk":
        length = struct.unpack_from("<H", d, chunk + 4)[0]
        return bytes(d[:chunk + CHUNK_HEADER + b % max(length, 1)])
    if kind == "cut_block_boundary":
        blocks = max(1, n // BLOCK)
        at = (1 + a % blocks) * BLOCK + (b % 17) - 8
        return bytes(d[:max(0, min(at, n))])
    if kind == "flip_bit":
        pos = HEADER + a % (n - HEADER)
        d[pos] ^= 1 << (b % 8)
        return bytes(d)
    if kind == "bad_crc":
        d[chunk + b % 4] ^= 0xFF
        return bytes(d)
    if kind == "zero_tail":
        at = chunk if b % 2 else HEADER + a % (n - HEADER)
        return bytes(d[:at]) + bytes((b % 3) * BLOCK + (a % 1000))
    if kind == "wrong_magic":
        pos = a % 6  # the magic and the 0xBEE1 ident (byte 6, the version, is not checked)
        d[pos] ^= 1 + b % 255
        return bytes(d)
    if kind == "huge_length":
        struct.pack_into("<H", d, chunk + 4, 0xFFFF - b % 4096)
        return bytes(d)
    if kind == "zero_run":
        pos = HEADER + a % (n - HEADER)
        size = 1 + b % 64
        d[pos:pos + size] = bytes(len(d[pos:pos + size]))
        return bytes(d)
    if kind == "forged_payload":
        # bits flipped inside one record and its checksum made to match: the framing cannot
        # see it, so only the record decoder stands between the damage and a crash
        crc, length, ctype = struct.unpack_from("<IHB", d, chunk)
        start = chunk + CHUNK_HEADER
        if length == 0 or start + length > n:
            return bytes(d)
        for i in range(1 + b % 4):
            d[start + (a + i * b) % length] ^= 1 << ((b >> i) % 8)
        struct.pack_into("<I", d, chunk, zlib.crc32(bytes(d[start:start + length]), zlib.crc32(bytes([ctype]))))
        return bytes(d)
    if kind == "append_garbage":
        return bytes(d) + bytes((a * 7 + i * b) % 256 for i in range(1 + b % 200))
    raise ValueError(kind)


def assert_wandb_prefix(run: Run, full: Run, what: str = "", clean_cut: bool = False) -> None:
    """``run`` (read from a damaged copy) holds only the pristine run's points, each at its
    position: a prefix of every series; fewer rows than the truth only with a note, unless
    the copy is a ``clean_cut`` (a whole shorter log, see :func:`clean_cut_lengths`)."""
    assert run.rows <= full.rows, what
    for key, series in run.metrics.items():
        assert key in full.metrics, f"{what}: key {key!r} is not in the pristine run"
        whole = full.metrics[key]
        n = len(series)
        assert n <= len(whole), what
        assert np.array_equal(series.steps, whole.steps[:n]), f"{what}: steps of {key} differ"
        assert np.array_equal(series.values, whole.values[:n], equal_nan=True), f"{what}: values of {key} differ"
    if run.rows < full.rows and not clean_cut:
        assert run.read_notes, f"{what}: {full.rows - run.rows} rows missing without a note"
        assert any("byte" in note for note in run.read_notes), f"{what}: a note must say where: {run.read_notes}"
    if run.exited:
        assert full.exited and run.exit_code == full.exit_code, what


# -- JSON lines -----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class JsonlCase:
    """A damaged JSONL metric log and what a reader may make of it."""

    data: bytes
    expected: dict[str, list[tuple[int, float]]]  # key -> every (step, value) a reader must return
    damaged_lines: list[int]  # 1-based lines that hold no row, which the notes must name


def pristine_rows(n: int) -> list[dict]:
    return [{"step": i, "loss": round(2.0 / (i + 1), 6), "acc": i / n, **({"val_loss": 1.5 - i / 1000}
                                                                          if i % 4 == 0 else {})}
            for i in range(n)]


LINE_MUTATIONS = ("keep", "nan_token", "inf_token", "neg_inf_token", "null", "string_number", "bool",
                  "huge_int", "huge_float", "invalid_json", "truncated", "not_utf8", "bom", "blank",
                  "crlf", "array", "long_string", "surrogate_key", "control_key")


def _line(row: dict, kind: str, a: int) -> bytes:
    metric = "loss" if a % 2 else "acc"
    text = json.dumps(row)
    if kind == "keep":
        return text.encode()
    if kind in ("nan_token", "inf_token", "neg_inf_token", "null", "string_number", "bool", "huge_int",
                "huge_float", "long_string"):
        token = {"nan_token": "NaN", "inf_token": "Infinity", "neg_inf_token": "-Infinity", "null": "null",
                 "string_number": '"0.5"', "bool": "true", "huge_int": "1" + "0" * (20 + a % 400),
                 "huge_float": "1e400", "long_string": '"' + "x" * (1 + a % 5000) + '"'}[kind]
        fields = [f'"step": {row["step"]}'] + [f'"{k}": {token if k == metric else json.dumps(v)}'
                                                 for k, v in row.items() if k != "step"]
        return ("{" + ", ".join(fields) + "}").encode()
    if kind == "invalid_json":
        return text[:-1].encode() + b", }"
    if kind == "truncated":
        return text.encode()[:1 + a % (len(text) - 1)]
    if kind == "not_utf8":
        raw = text.encode()
        cut = a % len(raw)
        return raw[:cut] + b"\xff\xfe" + raw[cut:]
    if kind == "bom":
        return b"\xef\xbb\xbf" + text.encode()
    if kind == "blank":
        return b"   "
    if kind == "crlf":
        return text.encode() + b"\r"
    if kind == "array":
        return json.dumps(list(row.values())).encode()
    if kind in ("surrogate_key", "control_key"):  # valid JSON whose key is not valid Unicode / holds escapes
        key = "\\udcff\\ud800k" if kind == "surrogate_key" else "a\\u001b[2Jb\\nc\\u009b"
        return (text[:-1] + f', "{key}": {1 + a % 7}.5}}').encode()
    raise ValueError(kind)


def _oracle(line: bytes, first: bool) -> dict | None | str:
    """What one line says, by Python's own json: a dict, ``"blank"``, or None (no row).
    A byte-order mark is allowed where ``first`` says."""
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if first:
        text = text.lstrip("\ufeff")
    text = text.rstrip("\r\n")
    if not text.strip():
        return "blank"
    try:
        obj = json.loads(text)
    except ValueError:
        return None
    return obj if isinstance(obj, dict) else None


def _number(value) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        return float(value)
    except OverflowError:
        return None


def jsonl_case(kinds: list[tuple[str, int]], cut_last: int | None = None, huge_line: bool = False,
               step_key: str = "step", bom_anywhere: bool = False, wandb_times: bool = False) -> JsonlCase:
    """A log of ``len(kinds)`` rows, row i damaged as ``kinds[i]`` says; ``cut_last`` cuts the
    final newline-less line to that many bytes; ``huge_line`` inserts a 10 MB line of JSON.
    ``bom_anywhere``: the reader decodes each line as JSON bytes (a BOM on any line is fine).
    ``wandb_times``: each row carries ``_timestamp`` and ``_runtime`` as wandb writes them
    (internal fields, not metrics)."""
    rows = pristine_rows(len(kinds))
    internal = ("_timestamp", "_runtime") if wandb_times else ()
    if wandb_times:
        rows = [{"step": r["step"], "_timestamp": 1.7e9 + r["step"] / 8, "_runtime": r["step"] / 8,
                 **{k: v for k, v in r.items() if k != "step"}} for r in rows]
    lines = [_line(row, kind, a).replace(b'"step"', f'"{step_key}"'.encode()) for row, (kind, a) in zip(rows, kinds)]
    if huge_line and lines:
        lines.insert(len(lines) // 2, b'{"note": "' + b"y" * (10 * 1024 * 1024) + b'"}')
    data = b"\n".join(lines) + b"\n"
    if cut_last is not None and lines:
        data = data[:-1]  # no final newline: a writer still appending
        last = lines[-1]
        data = data[:len(data) - len(last)] + last[:cut_last % (len(last) + 1)]
    expected: dict[str, list[tuple[int, float]]] = {}
    damaged: list[int] = []
    for number, raw in enumerate(data.split(b"\n"), start=1):
        if number == len(data.split(b"\n")) and raw == b"":
            break  # after the final newline
        obj = _oracle(raw, number == 1 or bom_anywhere)
        if obj == "blank":
            continue
        if obj is None:
            damaged.append(number)
            continue
        step = obj.get(step_key)
        for key, value in obj.items():
            if key == step_key or key in internal:
                continue
            x = _number(value)
            if x is not None:
                expected.setdefault(key, []).append((int(step), x))
    return JsonlCase(data, expected, damaged)


def assert_jsonl_read(run: Run, case: JsonlCase, what: str = "", keep: int | None = 5) -> None:
    """Every expected point read exactly (nothing lost, nothing invented) and every damaged
    line named in a note (the first ``keep`` of them, the rest counted; None: all)."""
    got = {k: list(zip(s.steps.tolist(), s.values.tolist())) for k, s in run.metrics.items()}
    assert set(got) == set(case.expected), f"{what}: keys {sorted(got)} != {sorted(case.expected)}"
    for key, points in case.expected.items():
        mine = got[key]
        assert len(mine) == len(points), f"{what}: {key}: {len(mine)} points, expected {len(points)}"
        for (s1, v1), (s2, v2) in zip(mine, points):
            same = (v1 == v2) or (math.isnan(v1) and math.isnan(v2))
            assert s1 == s2 and same, f"{what}: {key}: read ({s1}, {v1}), pristine ({s2}, {v2})"
    notes = " ".join(run.read_notes)
    for line in case.damaged_lines[:keep]:
        assert f"line {line}:" in notes, f"{what}: line {line} skipped without a note: {run.read_notes}"
    if keep is not None and len(case.damaged_lines) > keep:
        assert f"{len(case.damaged_lines) - keep} more damaged lines skipped" in notes, what


def write_tree(folder: Path, files: dict[str, bytes]) -> None:
    for rel, data in files.items():
        path = folder / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)

