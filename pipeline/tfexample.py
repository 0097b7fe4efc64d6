"""Serializing ``tf.train.Example`` protos with int64 features, without TensorFlow.

The wire format is encoded by hand so Beam workers need neither TensorFlow nor
its protos: ``Example{features=1: Features{feature=1: map<string, Feature>}}``,
``Feature{int64_list=3: Int64List{value=1 (packed)}}``. Keys are written in
sorted order, so the bytes are deterministic. Values below 2**14 (every piece
id of a vocabulary of up to 16,384 pieces) are encoded by table lookup.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from core.contract import SOURCE_IDS, SOURCE_LENGTH, TARGET_IDS, TARGET_LENGTH


def _varint(value: int) -> bytes:
    """Base-128 varint; negative values use 64-bit two's complement like protobuf."""
    value &= (1 << 64) - 1
    out = bytearray()
    while value > 0x7F:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


_SMALL_LIMIT = 1 << 14
_SMALL = tuple(_varint(i) for i in range(_SMALL_LIMIT))


def _length(n: int) -> bytes:
    return _SMALL[n] if n < _SMALL_LIMIT else _varint(n)


def _packed(values: Sequence[int]) -> bytes:
    if values and min(values) >= 0 and max(values) < _SMALL_LIMIT:
        return b"".join(map(_SMALL.__getitem__, values))
    return b"".join(map(_varint, values))


def _int64_feature(values: Sequence[int]) -> bytes:
    """``Feature{int64_list=3: Int64List{value=1 packed}}``."""
    packed = _packed(values)
    int64_list = b"\x0a" + _length(len(packed)) + packed if values else b""
    return b"\x1a" + _length(len(int64_list)) + int64_list


def _key(name: str) -> bytes:
    encoded = name.encode("utf-8")
    return b"\x0a" + _length(len(encoded)) + encoded


def _entry(key: bytes, values: Sequence[int]) -> bytes:
    """One ``map<string, Feature>`` entry (field 1 of ``Features``) for an encoded key."""
    feature = _int64_feature(values)
    entry = key + b"\x12" + _length(len(feature)) + feature
    return b"\x0a" + _length(len(entry)) + entry


def serialize_int64_example(features: Mapping[str, Sequence[int]]) -> bytes:
    """A serialized ``tf.train.Example`` whose features are all int64 lists."""
    body = b"".join(_entry(_key(name), features[name]) for name in sorted(features))
    return b"\x0a" + _length(len(body)) + body


_PAIR_KEYS = tuple(map(_key, (SOURCE_IDS, SOURCE_LENGTH, TARGET_IDS, TARGET_LENGTH)))


def serialize_pair_example(source_ids: Sequence[int], target_ids: Sequence[int]) -> bytes:
    """``serialize_int64_example`` of ``source_ids``, ``target_ids`` and their lengths, faster."""
    src_ids, src_len, tgt_ids, tgt_len = _PAIR_KEYS
    body = (
        _entry(src_ids, source_ids)
        + _entry(src_len, (len(source_ids),))
        + _entry(tgt_ids, target_ids)
        + _entry(tgt_len, (len(target_ids),))
    )
    return b"\x0a" + _length(len(body)) + body
