"""The attentional decoder: one step function shared by training and search.

State is a flat tuple: the cell states of every layer (``h, c`` per LSTM
layer, ``h`` per GRU layer), then the previous attentional vector ``[B, units]``
(fed back as input when ``input_feeding`` is on). Memory is the tuple
``(keys [B, S, units], values [B, S, D_mem], mask [B, S])``.
"""

from __future__ import annotations

from typing import Any

import keras
import tensorflow as tf

from seq2seq.layers.attention import make_attention
from seq2seq.layers.recurrent import make_cell, state_size

Memory = tuple[tf.Tensor, tf.Tensor, tf.Tensor]
State = tuple[tf.Tensor, ...]


@keras.saving.register_keras_serializable(package="seq2seq")
class Decoder(keras.layers.Layer):
    """LSTM/GRU decoder with Luong or Bahdanau attention, queried by the top layer's output."""

    def __init__(
        self,
        vocab_size: int,
        embedding_size: int,
        units: int,
        cell: str = "lstm",
        num_layers: int = 1,
        attention: str = "luong",
        luong_score: str = "general",
        input_feeding: bool = True,
        dropout: float = 0.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.vocab_size = vocab_size
        self.embedding_size = embedding_size
        self.units = units
        self.cell = cell
        self.num_layers = num_layers
        self.attention_kind = attention
        self.luong_score = luong_score
        self.input_feeding = input_feeding
        self.dropout = dropout
        self.embedding = keras.layers.Embedding(vocab_size, embedding_size, name="embedding")
        self.cells = [make_cell(cell, units, name=f"cell_{i}") for i in range(num_layers)]
        self.attention = make_attention(attention, units, luong_score)
        self.bridge = keras.layers.Dense(
            units * state_size(cell) * num_layers, activation="tanh", name="bridge"
        )
        self.combine = keras.layers.Dense(units, activation="tanh", use_bias=False, name="combine")
        self.dropout_layer = keras.layers.Dropout(dropout)
        self.output_projection = keras.layers.Dense(vocab_size, name="output_projection")

    def prepare(
        self, memory: tf.Tensor, mask: tf.Tensor, encoder_final: tf.Tensor
    ) -> tuple[Memory, State]:
        """Attention keys and the initial state, from the encoder's outputs."""
        keys = self.attention.prepare_keys(memory)
        count = state_size(self.cell) * self.num_layers
        states = tf.split(self.bridge(encoder_final), count, axis=-1)
        attentional = tf.zeros_like(states[0])
        return (keys, memory, mask), (*states, attentional)

    def _advance(
        self, embedded: tf.Tensor, state: State, memory: Memory
    ) -> tuple[tf.Tensor, State, tf.Tensor]:
        """One time step from embedded input ``[B, E]``: attentional ``[B, units]``, state,
        attention weights ``[B, S]``."""
        keys, values, mask = memory
        inputs = tf.concat([embedded, state[-1]], axis=-1) if self.input_feeding else embedded
        per_layer = state_size(self.cell)
        new_state: list[tf.Tensor] = []
        for i, cell in enumerate(self.cells):
            layer_state = list(state[i * per_layer : (i + 1) * per_layer])
            inputs, layer_new = cell(inputs, layer_state)
            new_state.extend(layer_new)
        context, weights = self.attention(inputs, keys, values, mask)
        attentional = self.combine(tf.concat([context, inputs], axis=-1))
        return attentional, (*new_state, attentional), weights

    def step(
        self, token_ids: tf.Tensor, state: State, memory: Memory
    ) -> tuple[tf.Tensor, State, tf.Tensor]:
        """Decode one step for previous tokens ``[B]``: logits ``[B, V]``, new state, weights."""
        attentional, state, weights = self._advance(self.embedding(token_ids), state, memory)
        return self.output_projection(attentional), state, weights

    def call(
        self, target_in: tf.Tensor, memory: Memory, state: State, training: bool = False
    ) -> tf.Tensor:
        """Teacher-forced logits ``[B, T, V]`` for decoder inputs ``[B, T]`` (BOS + target)."""
        embedded = self.dropout_layer(self.embedding(target_in), training=training)
        time_major = tf.transpose(embedded, [1, 0, 2])
        steps = tf.shape(time_major)[0]
        # The first step runs outside the loop so that every variable exists before it.
        first, state, _ = self._advance(time_major[0], state, memory)
        outputs = tf.TensorArray(first.dtype, size=steps, element_shape=first.shape)
        outputs = outputs.write(0, first)

        def body(t: tf.Tensor, outputs: tf.TensorArray, state: State) -> Any:
            attentional, state, _ = self._advance(time_major[t], state, memory)
            return t + 1, outputs.write(t, attentional), state

        _, outputs, _ = tf.while_loop(
            lambda t, *_: t < steps,
            body,
            (tf.constant(1), outputs, state),
            maximum_iterations=steps - 1,
        )
        attentional = tf.transpose(outputs.stack(), [1, 0, 2])
        attentional = self.dropout_layer(attentional, training=training)
        return self.output_projection(attentional)

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "vocab_size": self.vocab_size,
            "embedding_size": self.embedding_size,
            "units": self.units,
            "cell": self.cell,
            "num_layers": self.num_layers,
            "attention": self.attention_kind,
            "luong_score": self.luong_score,
            "input_feeding": self.input_feeding,
            "dropout": self.dropout,
        }
