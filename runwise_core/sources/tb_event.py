"""Decode TensorBoard ``Event`` protobufs by hand: the few fields runwise needs, no dependency.

The messages (``tensorflow/core/util/event.proto``, ``summary.proto``, ``tensor.proto``):

    Event   { double wall_time = 1; int64 step = 2; string file_version = 3;
              Summary summary = 5; SessionLog session_log = 7; ... }
    Summary { repeated Value value = 1; }
    Value   { string tag = 1; float simple_value = 2; Image image = 4; HistogramProto histo = 5;
              Audio audio = 6; TensorProto tensor = 8; SummaryMetadata metadata = 9; }
    SummaryMetadata { PluginData plugin_data = 1 { string plugin_name = 1; } }
    TensorProto { DataType dtype = 1; TensorShapeProto tensor_shape = 2 { repeated Dim dim = 2
              { int64 size = 1; } }; bytes tensor_content = 4; repeated float float_val = 5;
              repeated double double_val = 6; repeated int32 int_val = 7; repeated int64
              int64_val = 10; repeated bool bool_val = 11; repeated int32 half_val = 13; }

A scalar is a ``simple_value`` (TF1, tensorboardX, PyTorch) or a one-element numeric tensor
(TF2's ``tf.summary.scalar``, tensorboardX ``new_style``). Everything else is reported by
kind: image, histogram, audio, text or the tensor's plugin name. A plugin name is written
only with a tag's first value, so the caller keeps it per tag.

Why by hand: generated ``*_pb2`` classes would need tensorboard (or TensorFlow) installed, a
large dependency for six fields. The decoder skips every field it does not know, by wire type,
so newer writers stay readable; a malformed message raises ``ValueError`` for the caller to
skip that one record.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from collections.abc import Iterator
from typing import Any

import numpy as np

from .protowire import varint as _varint

_F64 = struct.Struct("<d")
_F32 = struct.Struct("<f")

# DataType values -> numpy dtypes for tensor_content
_DTYPES = {1: "<f4", 2: "<f8", 3: "<i4", 4: "u1", 5: "<i2", 6: "i1", 9: "<i8", 10: "?", 17: "<u2",
           19: "<f2", 22: "<u4", 23: "<u8"}
_BFLOAT16 = 14
_STRING = 7


@dataclass
class Value:
    """One summary value: ``number`` for a scalar, else ``kind`` names what it is."""

    tag: str
    number: float | None = None
    kind: str | None = None
    plugin: str | None = None
    content: bytes | None = None  # the plugin's data, kept for the hparams plugin


@dataclass
class Event:
    wall_time: float = 0.0
    step: int = 0
    values: list[Value] | None = None
    session_status: int | None = None  # SessionLog.status: 1 START, 2 STOP, 3 CHECKPOINT
    file_version: str | None = None


def _fields(buf: bytes) -> Iterator[tuple[int, int, Any]]:
    """(field number, wire type, value) of each field; value is an int or a bytes slice."""
    pos, end = 0, len(buf)
    value: Any
    while pos < end:
        key, pos = _varint(buf, pos)
        field, wt = key >> 3, key & 7
        if wt == 0:
            value, pos = _varint(buf, pos)
        elif wt == 1:
            value, pos = buf[pos:pos + 8], pos + 8
        elif wt == 2:
            n, pos = _varint(buf, pos)
            value, pos = buf[pos:pos + n], pos + n
        elif wt == 5:
            value, pos = buf[pos:pos + 4], pos + 4
        else:
            raise ValueError(f"unsupported wire type {wt}")
        if pos > end:
            raise ValueError("field overruns its message")
        yield field, wt, value


def _signed64(v: int) -> int:
    return v - (1 << 64) if v >= 1 << 63 else v


def _packed_varints(buf: bytes) -> list[int]:
    out, pos = [], 0
    while pos < len(buf):
        v, pos = _varint(buf, pos)
        out.append(v)
    return out


def _tensor_scalar(buf: bytes) -> tuple[float | None, str | None]:
    """A one-element numeric tensor's value, or (None, kind) for anything else."""
    dtype = 0
    dims: list[int] = []
    content = b""
    numbers: list[float] = []
    strings = 0
    for field, wt, value in _fields(buf):
        if field == 1 and wt == 0:
            dtype = value
        elif field == 2 and wt == 2:
            for f, w, dim in _fields(value):
                if f == 2 and w == 2:
                    size = 0
                    for f2, w2, v2 in _fields(dim):
                        if f2 == 1 and w2 == 0:
                            size = _signed64(v2)
                    dims.append(size)
        elif field == 4 and wt == 2:
            content = value
        elif field == 5:
            numbers.extend(np.frombuffer(value, "<f4").tolist() if wt == 2 else [_F32.unpack(value)[0]])
        elif field == 6:
            numbers.extend(np.frombuffer(value, "<f8").tolist() if wt == 2 else [_F64.unpack(value)[0]])
        elif field in (7, 10, 11, 13):
            raw = _packed_varints(value) if wt == 2 else [value]
            if field == 13:
                numbers.extend(float(np.array([v & 0xFFFF], "<u2").view("<f2")[0]) if dtype != _BFLOAT16
                               else float(np.array([(v & 0xFFFF) << 16], "<u4").view("<f4")[0]) for v in raw)
            elif field == 7:  # int32: negatives arrive sign-extended to 64 bits
                numbers.extend(float(_signed64(v) if v >= 1 << 32 else (v - (1 << 32) if v >= 1 << 31 else v))
                               for v in raw)
            else:
                numbers.extend(float(_signed64(v)) for v in raw)
        elif field == 8:
            strings += 1
    size = 1
    for d in dims:
        size *= d
    if dtype == _STRING or strings:
        return None, "text"
    if size != 1:
        return None, "tensor"
    if content:
        np_dtype = _DTYPES.get(dtype)
        if dtype == _BFLOAT16:
            if len(content) != 2:
                return None, "tensor"
            bits = np.frombuffer(content, "<u2").astype("<u4") << 16
            return float(bits.view("<f4")[0]), None
        if np_dtype is None:
            return None, "tensor"
        arr = np.frombuffer(content, np_dtype)
        return (float(arr[0]), None) if arr.size == 1 else (None, "tensor")
    if len(numbers) == 1:
        return float(numbers[0]), None
    return None, "tensor"


def _plugin(buf: bytes) -> tuple[str | None, bytes | None]:
    """(plugin_name, content) of a ``SummaryMetadata``."""
    name: str | None = None
    content: bytes | None = None
    for field, wt, value in _fields(buf):
        if field == 1 and wt == 2:
            for f, w, v in _fields(value):
                if f == 1 and w == 2:
                    name = bytes(v).decode("utf-8", "replace")
                elif f == 2 and w == 2:
                    content = bytes(v)
    return name, content


def _pb_value(buf: bytes) -> Any:
    """A ``google.protobuf.Value`` as plain data (null, number, string, bool, dict, list)."""
    for field, wt, value in _fields(buf):
        if field == 1:
            return None
        if field == 2 and wt == 1:
            return _F64.unpack(value)[0]
        if field == 3 and wt == 2:
            return bytes(value).decode("utf-8", "replace")
        if field == 4 and wt == 0:
            return bool(value)
        if field == 5 and wt == 2:
            return _pb_struct(value)
        if field == 6 and wt == 2:
            return [_pb_value(v) for f, w, v in _fields(value) if f == 1 and w == 2]
    return None


def _pb_struct(buf: bytes) -> dict[str, Any]:
    """A ``google.protobuf.Struct`` (or any ``map<string, Value>``, field 1) as a dict."""
    out: dict[str, Any] = {}
    for field, wt, entry in _fields(buf):
        if field == 1 and wt == 2:
            key, val = "", None
            for f, w, v in _fields(entry):
                if f == 1 and w == 2:
                    key = bytes(v).decode("utf-8", "replace")
                elif f == 2 and w == 2:
                    val = _pb_value(v)
            out[key] = val
    return out


def session_hparams(content: bytes) -> dict[str, Any] | None:
    """The hyperparameters in an hparams-plugin ``session_start_info`` (the content of the
    ``_hparams_/session_start_info`` tag's metadata), or None for other hparams data.

    ``HParamsPluginData { oneof { Experiment experiment = 2; SessionStartInfo
    session_start_info = 3; ... } }``, ``SessionStartInfo { map<string, Value> hparams = 1 }``.
    """
    for field, wt, value in _fields(content):
        if field == 3 and wt == 2:
            return _pb_struct(value)
    return None


_KIND = {4: "image", 5: "histogram", 6: "audio", 3: "histogram"}


def _value(buf: bytes) -> Value:
    """One ``Summary.Value``. Written as a flat loop, not over :func:`_fields`: this is the
    hot path (one call per logged point), and the loop is about 3x faster."""
    tag = ""
    number: float | None = None
    kind: str | None = None
    plugin: str | None = None
    content: bytes | None = None
    tensor: bytes | None = None
    pos, end = 0, len(buf)
    while pos < end:
        key = buf[pos]
        pos += 1
        if key >= 0x80:
            key, pos = _varint(buf, pos - 1)
        if key == 0x0A:  # 1: tag
            n = buf[pos]
            pos += 1
            if n >= 0x80:
                n, pos = _varint(buf, pos - 1)
            tag = buf[pos:pos + n].decode("utf-8", "replace")
            pos += n
        elif key == 0x15:  # 2: simple_value, fixed32
            number = _F32.unpack_from(buf, pos)[0]
            pos += 4
        else:
            field, wt = key >> 3, key & 7
            value: Any
            if wt == 2:
                n, pos = _varint(buf, pos)
                value, pos = buf[pos:pos + n], pos + n
            elif wt == 0:
                value, pos = _varint(buf, pos)
            elif wt == 5:
                value, pos = buf[pos:pos + 4], pos + 4
            elif wt == 1:
                value, pos = buf[pos:pos + 8], pos + 8
            else:
                raise ValueError(f"unsupported wire type {wt}")
            if field == 8 and wt == 2:
                tensor = value
            elif field == 9 and wt == 2:
                plugin, content = _plugin(value)
            elif field in _KIND:
                kind = _KIND[field]
    if pos > end:
        raise ValueError("field overruns its message")
    if number is None and tensor is not None:
        number, kind = _tensor_scalar(tensor)
    return Value(tag=tag, number=number, kind=kind, plugin=plugin, content=content)


def _summary(buf: bytes) -> list[Value]:
    out: list[Value] = []
    pos, end = 0, len(buf)
    while pos < end:
        key, pos = _varint(buf, pos)
        if key != 0x0A:  # only field 1 (value) is defined; skip anything else by wire type
            pos = _skip(buf, pos, key & 7)
            continue
        n = buf[pos]
        pos += 1
        if n >= 0x80:
            n, pos = _varint(buf, pos - 1)
        out.append(_value(buf[pos:pos + n]))
        pos += n
    if pos > end:
        raise ValueError("field overruns its message")
    return out


def _skip(buf: bytes, pos: int, wt: int) -> int:
    if wt == 0:
        return _varint(buf, pos)[1]
    if wt == 1:
        return pos + 8
    if wt == 2:
        n, pos = _varint(buf, pos)
        return pos + n
    if wt == 5:
        return pos + 4
    raise ValueError(f"unsupported wire type {wt}")


def simple_scalar(buf: bytes) -> tuple[float, int, bytes, float] | None:
    """(wall_time, step, tag bytes, value) when ``buf`` is the common one-scalar event, laid
    out exactly as every writer serialises it (``wall_time``, ``step``, a summary of one
    value with a short ``tag`` and a ``simple_value``), else None; :func:`decode_event`
    handles everything. Matching that layout byte by byte is 3x faster than the general
    decoder, and scalar logs are mostly such events.
    """
    n = len(buf)
    if n < 17 or buf[0] != 0x09 or buf[9] != 0x10:
        return None
    pos = 10
    step = shift = 0
    while True:
        if pos >= n:
            return None
        b = buf[pos]
        pos += 1
        step |= (b & 0x7F) << shift
        if b < 0x80:
            break
        shift += 7
        if shift > 63:
            return None
    if pos + 6 > n or buf[pos] != 0x2A or buf[pos + 2] != 0x0A or buf[pos + 4] != 0x0A:
        return None
    slen, vlen, tlen = buf[pos + 1], buf[pos + 3], buf[pos + 5]
    if slen != vlen + 2 or vlen != tlen + 7 or pos + 2 + slen != n or buf[n - 5] != 0x15:
        return None  # also rejects lengths >= 128 (multi-byte varints): those go the long way
    tag = buf[pos + 6:pos + 6 + tlen]
    return _F64.unpack_from(buf, 1)[0], _signed64(step), tag, _F32.unpack_from(buf, n - 4)[0]


def decode_event(buf: bytes) -> Event:
    """The fields of one serialized ``Event`` that runwise uses; ``ValueError`` if malformed."""
    ev = Event()
    pos, end = 0, len(buf)
    while pos < end:
        key, pos = _varint(buf, pos)
        if key == 0x09:  # 1: wall_time, fixed64
            ev.wall_time = _F64.unpack_from(buf, pos)[0]
            pos += 8
        elif key == 0x10:  # 2: step, varint
            step, pos = _varint(buf, pos)
            ev.step = _signed64(step)
        elif key in (0x1A, 0x2A, 0x3A):  # 3 file_version, 5 summary, 7 session_log
            n, pos = _varint(buf, pos)
            body = buf[pos:pos + n]
            pos += n
            if key == 0x2A:
                ev.values = _summary(body)
            elif key == 0x1A:
                ev.file_version = body.decode("utf-8", "replace")
            else:
                ev.session_status = next((v for f, w, v in _fields(body) if f == 1 and w == 0), 0)
        else:
            pos = _skip(buf, pos, key & 7)
    if pos > end:
        raise ValueError("field overruns its message")
    return ev
