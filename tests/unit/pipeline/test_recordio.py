"""TFRecord framing."""

from __future__ import annotations

from pathlib import Path

from pipeline.recordio import tfrecord_frame


def test_tfrecord_frame_reads_back_with_tensorflow(tmp_path: Path) -> None:
    import tensorflow as tf

    payloads = [b"", b"x", b"\x00" * 300]
    (tmp_path / "r.tfrecord").write_bytes(b"".join(tfrecord_frame(d) for d in payloads))
    assert [r.numpy() for r in tf.data.TFRecordDataset(str(tmp_path / "r.tfrecord"))] == payloads
