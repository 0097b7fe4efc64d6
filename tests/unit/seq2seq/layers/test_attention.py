"""Attention layers: Luong scaling and ``get_config`` round trips."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

from seq2seq.layers.attention import BahdanauAttention, LuongAttention


@pytest.mark.parametrize("score", ["general", "dot"])
def test_luong_scale_divides_scores_by_sqrt_units(score: str) -> None:
    memory, query = tf.random.normal([2, 4, 6], seed=1), tf.random.normal([2, 3, 6], seed=2)
    mask = tf.constant([[True] * 4, [True, True, False, False]])
    scaled, plain = LuongAttention(6, score=score), LuongAttention(6, score=score, scale=False)
    keys = scaled.prepare_keys(memory)
    plain.prepare_keys(memory)  # builds the projection
    plain.set_weights(scaled.get_weights())
    plain_keys = plain.prepare_keys(memory)
    np.testing.assert_allclose(
        scaled.scores(query, keys).numpy(),
        plain.scores(query, plain_keys).numpy() / np.sqrt(6.0),
        rtol=1e-5,
        atol=1e-6,
    )
    _, weights = scaled(query, keys, memory, mask)
    np.testing.assert_allclose(weights.numpy().sum(axis=-1), 1.0, rtol=1e-5)
    assert np.all(weights.numpy()[1, :, 2:] == 0.0)


@pytest.mark.parametrize(
    "layer",
    [LuongAttention(6, score="dot"), LuongAttention(6, scale=False), BahdanauAttention(5)],
)
def test_layers_round_trip_through_get_config(layer: keras.layers.Layer) -> None:
    config = layer.get_config()
    assert type(layer).from_config(config).get_config() == config
