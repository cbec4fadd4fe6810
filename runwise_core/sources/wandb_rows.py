"""Vectorised decoding of W&B history and summary records: the hot path of a big read.

A 1M-step run is ~3 million records (per logged row: a history record, a summary record
repeating the row, and a ``_wandb.runtime`` summary record). Parsing each with protobuf and
walking its items in Python costs ~30 us a row, which is minutes for a big run. Here a batch
of records is joined into one byte array and parsed with numpy: record heads, item
boundaries, key and value positions. The parse is then *proven* to be protobuf's own parse:
every length prefix must agree with the boundaries found, the items must tile each record
body exactly, and every distinct key field is parsed once in Python. A record that does not
pass (a value holding the bytes 0x82 0x01, a length over 127, non-ASCII text, a value that
is not a number in history, ...) is marked *bad*; the caller decodes bad records with
protobuf, in order, so the result never depends on which path a record took.

Wire facts used (wandb_internal.proto): ``Record.num`` = 1 (varint), ``Record.history`` = 2,
``Record.summary`` = 3; ``HistoryRecord.item`` = 1, ``HistoryRecord.step`` = 2
(``HistoryStep.num`` = 1); ``SummaryRecord.update`` = 1; ``HistoryItem`` and
``SummaryItem`` both carry ``key`` = 1, ``nested_key`` = 2, ``value_json`` = 16.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

HISTORY_TAG, SUMMARY_TAG = 0x12, 0x1A
_PAD = 32  # zero bytes after the joined batch, so that look-ahead reads stay in bounds
#: Values up to this many bytes are gathered as three words each (every float64 repr fits).
SHORT = 24


@dataclass
class Items:
    """The items of the good records of one kind, in file order.

    ``rec`` is the index (in the batch) of each item's record, ``key`` an index into
    ``keys``, and ``vstart``/``vend`` the value's byte range in ``buf``.
    """

    buf: np.ndarray
    rec: np.ndarray
    key: np.ndarray
    vstart: np.ndarray
    vend: np.ndarray
    keys: list[str]

    def value_bytes(self, i: int) -> bytes:
        return self.buf[self.vstart[i]:self.vend[i]].tobytes()


@dataclass
class Batch:
    """A batch of records, classified. ``kind`` per record: 0 other, 1 history, 2 summary.
    ``good`` marks history/summary records whose fast parse is proven exact."""

    payloads: list[bytes]
    kind: np.ndarray
    good: np.ndarray
    history: Items | None
    summary: Items | None


class KeyTable:
    """Raw key-field bytes -> the key string the slow path would build, validated once.

    The rule is ``item.key or ".".join(item.nested_key)``. A raw whose inner lengths do not
    tile it, or whose text is not UTF-8, maps to None (the record is bad).
    """

    def __init__(self) -> None:
        self._keys: dict[bytes, str | None] = {}

    def key(self, raw: bytes) -> str | None:
        try:
            return self._keys[raw]
        except KeyError:
            key = self._keys[raw] = _parse_key(raw)
            return key


def _parse_key(raw: bytes) -> str | None:
    key = ""
    parts: list[str] = []
    pos = 0
    try:
        while pos < len(raw):
            tag, length = raw[pos], raw[pos + 1]
            if tag not in (0x0A, 0x12) or length >= 0x80:
                return None
            text = raw[pos + 2:pos + 2 + length]
            if len(text) != length:
                return None
            if tag == 0x0A:
                key = text.decode("utf-8")
            else:
                parts.append(text.decode("utf-8"))
            pos += 2 + length
    except (IndexError, UnicodeDecodeError):
        return None
    return key or ".".join(parts)


def classify(payloads: list[bytes], keys: KeyTable) -> Batch:
    """Parse the heads and items of ``payloads`` with numpy; see the module docstring."""
    n = len(payloads)
    lens = np.fromiter(map(len, payloads), np.int64, n)
    ends = np.cumsum(lens)
    starts = ends - lens
    buf = np.frombuffer(b"".join(payloads) + bytes(_PAD), np.uint8)
    b = _Int(buf)
    # Head: optional num (tag 0x08 + varint), then the body's tag and a 1-2 byte length.
    has_num = b[starts] == 0x08
    p = starts.copy()
    cont = has_num.copy()
    p[has_num] += 1
    for _ in range(5):  # varint bytes of num: continue while the high bit is set
        at = b[p]
        p = np.where(cont, p + 1, p)
        cont &= at >= 0x80
    bad_head = cont  # a num longer than 5 bytes
    tag = b[p]
    l1, l2 = b[p + 1], b[p + 2]
    one = l1 < 0x80
    body_len = np.where(one, l1, (l1 & 0x7F) | (l2 << 7))
    body_start = np.where(one, p + 2, p + 3)
    ok_head = ~bad_head & (one | (l2 < 0x80)) & (body_start + body_len == ends) & (lens > 0)
    kind = np.zeros(n, np.int8)
    kind[ok_head & (tag == HISTORY_TAG)] = 1
    kind[ok_head & (tag == SUMMARY_TAG)] = 2
    # Payloads whose tag says history/summary but whose head is odd are still that kind.
    loose = ~ok_head & (lens > 0)
    if loose.any():
        for i in np.flatnonzero(loose):
            kind[i] = _slow_kind(payloads[int(i)])
    good = ok_head & (kind > 0)
    region_end = ends.copy()
    # History: the step field (tag 0x12, 1-byte length, optional 0x08 + varint) ends the body.
    is_hist = good & (kind == 1)
    step_len = np.zeros(n, np.int64)
    found = np.zeros(n, bool)
    for k in (2, 4, 5, 6, 7):
        at = ends - k
        cand = is_hist & ~found & (at >= body_start)
        if not cand.any():
            continue
        c = cand & (b[np.maximum(at, 0)] == 0x12) & (b[np.maximum(at + 1, 0)] == k - 2)
        if k > 2:
            c &= b[np.maximum(at + 2, 0)] == 0x08
            c &= b[ends - 1] < 0x80
            for j in range(3, k - 1):
                c &= b[np.maximum(at + j, 0)] >= 0x80
        step_len[c] = k
        found |= c
    region_end = np.where(is_hist & found, ends - step_len, ends)
    history = summary = None
    # Value tags (0x82 0x01) anywhere; each kind keeps those inside its item regions.
    tags = np.flatnonzero(buf == 0x82)
    tags = tags[buf[tags + 1] == 0x01]
    recs = np.flatnonzero(good)
    if recs.size == 0:
        return Batch(payloads, kind, good, None, None)
    rs, re_ = body_start[recs], region_end[recs]
    which = np.searchsorted(rs, tags, side="right") - 1  # the region (good record) of each tag
    at = np.maximum(which, 0)
    inside = (which >= 0) & (tags >= rs[at]) & (tags < re_[at])
    tags, which = tags[inside], which[inside]
    rec_kind = kind[recs]
    for kcode in (1, 2):
        of_kind = rec_kind == kcode
        if not of_kind.any():
            continue
        local = np.cumsum(of_kind) - 1  # a good record's index among those of its kind
        mine = of_kind[which]
        sel = recs[of_kind]
        items, ok = _items(buf, b, tags[mine], local[which[mine]], sel, body_start, region_end, keys,
                           history=kcode == 1)
        good[sel[~ok]] = False
        if kcode == 1:
            history = items
        else:
            summary = items
    return Batch(payloads, kind, good, history, summary)


class _Int:
    """``buf[i]`` as int64 for index arrays: gathers first, widens after (the whole buffer
    as int64 would be 8 times its size)."""

    __slots__ = ("buf", "size")

    def __init__(self, buf: np.ndarray) -> None:
        self.buf = buf
        self.size = buf.size

    def __getitem__(self, index: np.ndarray) -> np.ndarray:
        return self.buf[index].astype(np.int64)


def _slow_kind(payload: bytes) -> int:
    from .wandb_framing import field_number

    number = field_number(payload)
    return 1 if number == 2 else 2 if number == 3 else 0


def _items(buf: np.ndarray, b: _Int, tags: np.ndarray, which: np.ndarray, recs: np.ndarray,
           body_start: np.ndarray, region_end: np.ndarray, keys: KeyTable,
           history: bool) -> tuple[Items, np.ndarray]:
    """Tile the item regions of records ``recs``, given the value tags inside them and the
    index (into ``recs``) of each tag's record; returns the items of the records that tile
    exactly and, per record in ``recs``, whether it did."""
    rs, re_ = body_start[recs], region_end[recs]
    m = len(recs)
    vl = b[tags + 2]
    vstart = tags + 3
    vend = vstart + vl
    first = np.ones(tags.size, bool)
    first[1:] = which[1:] != which[:-1]
    istart = np.where(first, rs[which], np.roll(vend, 1))
    l1 = b[istart + 1]
    kf_start = istart + 2
    kf_len = tags - kf_start
    ok_item = (b[istart] == 0x0A) & (l1 < 0x80) & (vl < 0x80) & (kf_len >= 2) & (l1 == kf_len + 3 + vl)
    # Each region must end exactly where its last item's value ends; an empty region is
    # fine only for a record without items.
    last = np.ones(tags.size, bool)
    last[:-1] = which[1:] != which[:-1]
    rec_ok = np.ones(m, bool)
    rec_ok[which[~ok_item]] = False
    ends_ok = vend[last] == re_[which[last]]
    rec_ok[which[last][~ends_ok]] = False
    has_items = np.zeros(m, bool)
    has_items[which] = True
    rec_ok &= has_items | (rs == re_)
    vb = np.zeros(tags.size, bool)
    if not history and tags.size:
        # Summary values are kept as text: ASCII without NUL, as wandb's JSON is. (History
        # values need no such check: ``float`` refuses NUL and non-ASCII bytes itself.)
        vb = ~_ascii_text(buf, vstart, vend)
    if history:
        # History values must be numbers: JSON numbers, NaN, Infinity, -Infinity.
        c0 = b[vstart]
        numeric = (vl > 0) & (((c0 >= 0x30) & (c0 <= 0x39)) | (c0 == 0x2D) | (c0 == 0x2E) | (c0 == 0x2B)
                              | (c0 == 0x4E) | (c0 == 0x49))
        vb |= ~numeric
    rec_ok[which[vb]] = False
    key_id = np.full(tags.size, -1, np.int64)
    names: list[str] = []
    sel = np.flatnonzero(ok_item)
    if sel.size:
        key_id[sel] = _key_ids(buf, kf_start[sel], kf_len[sel], keys, names, {})
    rec_ok[which[key_id < 0]] = False
    keep = rec_ok[which]
    items = Items(buf, recs[which[keep]], key_id[keep], vstart[keep], vend[keep], names)
    return items, rec_ok


#: ``_MASKS[k]`` keeps the low ``k`` bytes of a little-endian uint64.
_MASKS = np.array([(1 << (8 * k)) - 1 for k in range(9)], dtype=np.uint64)
_SPACES = np.uint64(0x2020202020202020)
_LOW, _HIGH = np.uint64(0x0101010101010101), np.uint64(0x8080808080808080)
#: Grouping learns a batch's distinct keys from its first this many items.
_HEAD = 512


def _key_ids(buf: np.ndarray, start: np.ndarray, length: np.ndarray, keys: KeyTable,
             names: list[str], index: dict[str, int]) -> np.ndarray:
    """The key index (into ``names``, extended as new keys appear) of each key field
    ``buf[start:start + length]``; -1 where a field does not parse as a key.

    Each field is read as whole little-endian words (bytes past its length masked to
    zero) with its length in front: two fields are equal exactly when their rows are. Rows
    are grouped by a hash and then compared whole with their group's first row, so a hash
    collision cannot merge two keys; each distinct field is parsed once.
    """
    width = int(length.max() + 7) // 8
    rows = np.empty((start.size, width + 1), np.uint64)
    rows[:, 0] = length
    rows[:, 1:] = gather_words(buf, start, length, width, np.uint64(0))
    h = rows[:, 0].copy()
    for j in range(1, width + 1):
        h = h * np.uint64(1099511628211) ^ rows[:, j]
    group, reps = _groups(h)
    same = (rows == rows[reps][group]).all(axis=1)
    ids = np.empty(reps.size, np.int64)
    for g, r in enumerate(reps.tolist()):
        at = int(start[r])
        name = keys.key(buf[at:at + int(length[r])].tobytes())
        if name is None:
            ids[g] = -1
            continue
        if name not in index:
            index[name] = len(names)
            names.append(name)
        ids[g] = index[name]
    return np.where(same, ids[group], -1)


def _groups(h: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Equal values of ``h``: a group number per element and each group's first element.

    A batch holds a few distinct keys thousands of times over: the distinct values among
    its first items are found by sorting those few, every element is looked up among them,
    and only the elements not found (keys that first appear later) are sorted themselves.
    """
    known, first = np.unique(h[:_HEAD], return_index=True)
    at = np.minimum(np.searchsorted(known, h), known.size - 1)
    found = known[at] == h
    if found.all():
        return at, first
    group = at.copy()
    rest = np.flatnonzero(~found)
    _, rest_first, inverse = np.unique(h[rest], return_index=True, return_inverse=True)
    group[rest] = known.size + inverse.reshape(-1)
    return group, np.concatenate((first, rest[rest_first]))


def parse_numbers(items: Items, index: np.ndarray) -> np.ndarray | None:
    """The values of items ``index`` as Python's ``float`` reads their bytes (the slow path
    reads them the same way), or None if one does not read as a number.

    The value bytes are gathered into one buffer, a space after each value, and split: one
    bytes object per value, made in C, then ``float`` mapped over them.
    """
    n = index.size
    if n == 0:
        return np.zeros(0, np.float64)
    vs, ve = items.vstart[index], items.vend[index]
    lengths = ve - vs
    if lengths.max() <= SHORT:
        # Each value as a row of SHORT bytes, zero-filled; zeros become the separators.
        words = gather_short(items.buf, vs, lengths).tobytes().split()
    else:
        words = _gathered(items.buf, vs, lengths).split()
    if len(words) != n:
        return None  # a value that is empty or holds whitespace: let the slow path judge it
    try:
        return np.fromiter(map(float, words), np.float64, n)
    except ValueError:
        return None


def _gathered(buf: np.ndarray, vs: np.ndarray, lengths: np.ndarray) -> bytes:
    """The values ``buf[vs:vs + lengths]``, a space after each, as one bytes object."""
    n = vs.size
    total = int(lengths.sum())
    ends = np.cumsum(lengths)
    # Byte j of the gathered values comes from buf[vs[k] + (j - start of value k)].
    value_of = np.repeat(np.arange(n), lengths)
    src = np.arange(total) + np.repeat(vs - (ends - lengths), lengths)
    out = np.full(total + n, 0x20, np.uint8)
    out[np.arange(total) + value_of] = buf[src]
    return out.tobytes()


def words_at(buf: np.ndarray) -> np.ndarray:
    """``words_at(buf)[i]`` is the little-endian uint64 of ``buf[i:i + 8]``: a view, no copy."""
    return np.ndarray((buf.size - 7,), dtype="<u8", buffer=buf, strides=(1,))


def gather_short(buf: np.ndarray, start: np.ndarray, length: np.ndarray) -> np.ndarray:
    """``buf[start:start + length]`` (each at most SHORT bytes) as rows of SHORT // 8
    little-endian words, spaces past each length; a new array."""
    return gather_words(buf, start, length, SHORT // 8, _SPACES)


def gather_words(buf: np.ndarray, start: np.ndarray, length: np.ndarray, width: int,
                 fill: np.uint64) -> np.ndarray:
    """``buf[start:start + length]`` as rows of ``width`` little-endian words, the bytes past
    each length taken from ``fill``; one gather per word, a new array. A field shorter than
    8 * j has no word j: its read (clamped to the buffer, as a short field near the end may
    need) is masked away."""
    words = words_at(buf)
    last = words.size - 1
    out = np.empty((start.size, width), np.uint64)
    for j in range(width):
        keep = _MASKS[np.clip(length - 8 * j, 0, 8)]
        out[:, j] = (words[np.minimum(start + 8 * j, last)] & keep) | (fill & ~keep)
    return out


def _ascii_text(buf: np.ndarray, start: np.ndarray, end: np.ndarray) -> np.ndarray:
    """Whether each ``buf[start:end]`` is ASCII without NUL (as wandb's JSON text is)."""
    length = end - start
    ok = np.ones(start.size, bool)
    short = length <= SHORT
    if short.any():
        bad = np.zeros(int(short.sum()), np.uint64)
        for w in gather_short(buf, start[short], length[short]).T:
            bad |= (w & _HIGH) | ((w - _LOW) & ~w & _HIGH)  # a byte >= 0x80, or a zero byte
        ok[short] = bad == 0
    for i in np.flatnonzero(~short).tolist():  # long values (media, tables) are few
        text = buf[start[i]:end[i]].tobytes()
        ok[i] = text.isascii() and b"\0" not in text
    return ok
