"""The encoder: source embeddings and a stack of (bi)directional LSTM/GRU layers."""

from __future__ import annotations

from typing import Any

import keras
import tensorflow as tf

from seq2seq.layers.recurrent import make_layer, state_size


@keras.saving.register_keras_serializable(package="seq2seq")
class Encoder(keras.layers.Layer):
    """Encodes source ids ``[B, S]`` (0 = padding) into memory and final states.

    Returns ``memory [B, S, D_mem]`` (``D_mem = 2 * units`` when bidirectional),
    ``mask [B, S]`` and ``final [B, D_mem]``, the last layer's final hidden
    state (both directions concatenated), used to initialise the decoder.
    """

    def __init__(
        self,
        vocab_size: int,
        embedding_size: int,
        units: int,
        cell: str = "lstm",
        num_layers: int = 1,
        bidirectional: bool = True,
        dropout: float = 0.0,
        embedding: keras.layers.Embedding | None = None,
        **kwargs: Any,
    ) -> None:
        """``embedding`` shares an existing embedding layer (e.g. with the decoder)."""
        super().__init__(**kwargs)
        self.vocab_size = vocab_size
        self.embedding_size = embedding_size
        self.units = units
        self.cell = cell
        self.num_layers = num_layers
        self.bidirectional = bidirectional
        self.dropout = dropout
        self.embedding = embedding or keras.layers.Embedding(
            vocab_size, embedding_size, name="embedding"
        )
        self.dropout_layer = keras.layers.Dropout(dropout)
        self.rnns = []
        for i in range(num_layers):
            rnn = make_layer(cell, units, name=f"rnn_{i}")
            if bidirectional:
                rnn = keras.layers.Bidirectional(rnn, merge_mode="concat", name=f"birnn_{i}")
            self.rnns.append(rnn)

    @property
    def output_size(self) -> int:
        """``D_mem``: the size of each memory vector."""
        return self.units * (2 if self.bidirectional else 1)

    def call(
        self, source_ids: tf.Tensor, training: bool = False
    ) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
        mask = tf.not_equal(source_ids, 0)
        outputs = self.dropout_layer(self.embedding(source_ids), training=training)
        per_direction = state_size(self.cell)
        final = outputs[:, 0, :]
        for i, rnn in enumerate(self.rnns):
            results = rnn(outputs, mask=mask, training=training)
            outputs, states = results[0], results[1:]
            if self.bidirectional:
                final = tf.concat([states[0], states[per_direction]], axis=-1)
            else:
                final = states[0]
            if i < self.num_layers - 1:
                outputs = self.dropout_layer(outputs, training=training)
        return outputs, mask, final

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "vocab_size": self.vocab_size,
            "embedding_size": self.embedding_size,
            "units": self.units,
            "cell": self.cell,
            "num_layers": self.num_layers,
            "bidirectional": self.bidirectional,
            "dropout": self.dropout,
        }
