"""``Seq2Seq.attention_weights``: the graph-mode teacher-forced attention used for heatmaps."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

from seq2seq.model import Seq2Seq

SOURCE = tf.constant([[5, 6, 7, 3], [8, 3, 0, 0]])
TARGET_IN = tf.constant([[2, 9, 10], [2, 11, 0]])


@pytest.mark.parametrize(("cell", "attention"), [("lstm", "luong"), ("gru", "bahdanau")])
def test_attention_weights_equal_step_by_step_decoding(cell: str, attention: str) -> None:
    keras.utils.set_random_seed(0)
    model = Seq2Seq(20, 24, cell=cell, attention=attention, embedding_size=8, units=12)
    model.build_variables()
    weights = tf.function(model.attention_weights)(SOURCE, TARGET_IN).numpy()
    assert weights.shape == (2, 3, 4)
    np.testing.assert_allclose(weights.sum(axis=-1), 1.0, rtol=1e-5)
    assert np.all(weights[1, :, 2:] == 0.0)  # padded source positions get no attention

    memory, state = model.encode(SOURCE)
    for t in range(TARGET_IN.shape[1]):
        _, state, step_weights = model.step(TARGET_IN[:, t], state, memory)
        np.testing.assert_allclose(weights[:, t], step_weights.numpy(), rtol=1e-5, atol=1e-6)
