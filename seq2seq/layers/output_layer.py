"""The output layer that shares the target embedding matrix, and any output layer's rows.

``restricted_output`` computes the logits of a subset of the vocabulary (a shortlist)
with the same ops as the full layer, so a subset that is the whole vocabulary gives
the full layer's logits exactly.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import keras
import tensorflow as tf


@keras.saving.register_keras_serializable(package="seq2seq")
class TiedOutput(keras.layers.Layer):
    """Output logits that reuse the target embedding matrix: ``x W E^T + b``.

    ``W`` projects the attentional vector to the embedding size first.
    """

    def __init__(self, embedding: keras.layers.Embedding, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.embedding = embedding
        self.to_embedding = keras.layers.Dense(
            embedding.output_dim, use_bias=False, name="to_embedding"
        )

    def build(self, input_shape: Any) -> None:
        self.bias = self.add_weight(
            name="bias", shape=(self.embedding.input_dim,), initializer="zeros"
        )

    def call(self, inputs: tf.Tensor) -> tf.Tensor:
        projected = self.to_embedding(inputs)
        matrix = tf.cast(self.embedding.embeddings, projected.dtype)
        flat = tf.reshape(projected, [-1, tf.shape(projected)[-1]])
        logits = tf.matmul(flat, matrix, transpose_b=True) + tf.cast(self.bias, projected.dtype)
        shape = tf.concat([tf.shape(projected)[:-1], tf.shape(matrix)[:1]], axis=0)
        return tf.reshape(logits, shape)


def restricted_output(
    layer: keras.layers.Layer, pieces: tf.Tensor
) -> Callable[[tf.Tensor], tf.Tensor]:
    """The logits ``[N, U]`` of only the pieces ``pieces [U]`` (ids, increasing) for inputs
    ``[N, units]``, from a ``Dense`` or ``TiedOutput`` output layer. The rows are gathered
    once here (once per batch), not once per step."""
    if isinstance(layer, TiedOutput):
        matrix = tf.gather(layer.embedding.embeddings, pieces)  # [U, E]
        bias = tf.gather(layer.bias, pieces)

        def tied(inputs: tf.Tensor) -> tf.Tensor:
            projected = layer.to_embedding(inputs)
            weights = tf.cast(matrix, projected.dtype)
            return tf.matmul(projected, weights, transpose_b=True) + tf.cast(bias, projected.dtype)

        return tied
    kernel = tf.gather(layer.kernel, pieces, axis=1)  # [units, U]
    dense_bias = tf.gather(layer.bias, pieces)

    def dense(inputs: tf.Tensor) -> tf.Tensor:
        logits = tf.matmul(inputs, tf.cast(kernel, inputs.dtype))
        return logits + tf.cast(dense_bias, inputs.dtype)

    return dense
