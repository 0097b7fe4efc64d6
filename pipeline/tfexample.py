"""Serializing ``tf.train.Example`` protos with int64 features, without TensorFlow.

The wire format is encoded by hand so Beam workers need neither TensorFlow nor
its protos: ``Example{features=1: Features{feature=1: map<string, Feature>}}``,
``Feature{int64_list=3: Int64List{value=1 (packed)}}``. Keys are written in
sorted order, so the bytes are deterministic.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

_LENGTH_DELIMITED = 2


def _varint(value: int) -> bytes:
    """Base-128 varint; negative values use 64-bit two's complement like protobuf."""
    value &= (1 << 64) - 1
    out = bytearray()
    while value > 0x7F:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def _field(number: int, payload: bytes) -> bytes:
    """A length-delimited field."""
    return _varint(number << 3 | _LENGTH_DELIMITED) + _varint(len(payload)) + payload


def _int64_feature(values: Sequence[int]) -> bytes:
    packed = b"".join(_varint(v) for v in values)
    int64_list = _field(1, packed) if values else b""
    return _field(3, int64_list)


def serialize_int64_example(features: Mapping[str, Sequence[int]]) -> bytes:
    """A serialized ``tf.train.Example`` whose features are all int64 lists."""
    entries = b"".join(
        _field(1, _field(1, name.encode("utf-8")) + _field(2, _int64_feature(features[name])))
        for name in sorted(features)
    )
    return _field(1, entries)
