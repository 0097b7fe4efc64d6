"""The output layer that shares the target embedding matrix."""

from __future__ import annotations

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
