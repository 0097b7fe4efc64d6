"""The encoder: source embeddings and a stack of (bi)directional LSTM/GRU layers."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import keras
import tensorflow as tf

from seq2seq.layers.cell_loop import cell_math, run_sequence, zero_state
from seq2seq.layers.cells import make_cell, state_size


@keras.saving.register_keras_serializable(package="seq2seq")
class Encoder(keras.layers.Layer):
    """Encodes source ids ``[B, S]`` (0 = padding) into memory and final states.

    Returns ``memory [B, S, D_mem]`` (``D_mem = 2 * units`` when bidirectional),
    ``mask [B, S]`` and ``final``, the last layer's summary of the source that
    initialises the decoder: with ``final_state="both"`` each direction's final
    hidden state, concatenated (``[B, D_mem]``); with ``"backward"`` only the
    backward direction's, its state at the first source token (``[B, units]``;
    the forward final state for a unidirectional encoder).
    Each layer's input projection runs over the whole sequence at once; both
    directions advance in one graph loop (see ``cell_loop``).
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
        final_state: str = "both",
        **kwargs: Any,
    ) -> None:
        """``embedding`` shares an existing embedding layer (e.g. with the decoder)."""
        super().__init__(**kwargs)
        if final_state not in ("both", "backward"):
            raise ValueError(f"final_state must be 'both' or 'backward', got {final_state!r}")
        self.final_state = final_state
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
        self.forward_cells = [make_cell(cell, units, f"forward_{i}") for i in range(num_layers)]
        self.backward_cells = (
            [make_cell(cell, units, f"backward_{i}") for i in range(num_layers)]
            if bidirectional
            else []
        )

    def build(self, input_shape: Any) -> None:
        """Create the cells' weights: layer 0 reads embeddings, later layers the one below."""
        self.embedding.build(input_shape)
        for i, cell in enumerate([*self.forward_cells, *self.backward_cells]):
            layer = i % self.num_layers
            cell.build((None, self.embedding_size if layer == 0 else self.output_size))
        self.built = True

    @property
    def output_size(self) -> int:
        """``D_mem``: the size of each memory vector."""
        return self.units * (2 if self.bidirectional else 1)

    def call(
        self, source_ids: tf.Tensor, training: bool = False
    ) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
        mask = tf.not_equal(source_ids, 0)
        outputs = self.dropout_layer(self.embedding(source_ids), training=training)
        batch, count = tf.shape(source_ids)[0], state_size(self.cell)
        final = outputs[:, 0, :]
        for i in range(self.num_layers):
            forward = cell_math(self.forward_cells[i], None, outputs.dtype)
            backward = (
                cell_math(self.backward_cells[i], None, outputs.dtype)
                if self.bidirectional
                else None
            )
            outputs, forward_state, backward_state = run_sequence(
                forward,
                outputs,
                mask,
                zero_state(forward, count, batch, outputs.dtype),
                backward,
                zero_state(backward, count, batch, outputs.dtype) if backward else None,
            )
            final = self._summary(forward_state[0], backward_state[:1])
            if i < self.num_layers - 1:
                outputs = self.dropout_layer(outputs, training=training)
        return outputs, mask, final

    def _summary(self, forward: tf.Tensor, backward: Sequence[tf.Tensor]) -> tf.Tensor:
        """The final hidden states ``final_state`` names (``backward``: ``[]`` or one state)."""
        if self.final_state == "backward" and backward:
            return backward[0]
        return tf.concat([forward, *backward], axis=-1)

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
            "final_state": self.final_state,
        }
