"""Hand-encoded ``tf.train.Example`` protos."""

from __future__ import annotations

from pipeline.tfexample import serialize_int64_example


def test_int64_example_matches_tensorflow() -> None:
    import tensorflow as tf

    features = {"ids": [0, 5, 300, 2**40], "empty": [], "neg": [-3]}
    feature = {
        k: tf.train.Feature(int64_list=tf.train.Int64List(value=v)) for k, v in features.items()
    }
    parsed = tf.train.Example.FromString(serialize_int64_example(features))
    assert parsed == tf.train.Example(features=tf.train.Features(feature=feature))
