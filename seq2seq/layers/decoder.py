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
        tie_embeddings: bool = False,
        embedding: keras.layers.Embedding | None = None,
        **kwargs: Any,
    ) -> None:
        """``tie_embeddings`` reuses the target embedding matrix as the output layer;
        ``embedding`` shares an existing embedding layer (e.g. the encoder's)."""
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
        self.tie_embeddings = tie_embeddings
        self.embedding = embedding or keras.layers.Embedding(
            vocab_size, embedding_size, name="embedding"
        )
        self.cells = [make_cell(cell, units, name=f"cell_{i}") for i in range(num_layers)]
        # Whole-sequence views of the same cells (shared weights), used by teacher forcing
        # when nothing is fed back from attention.
        self.sequence_layers = [
            keras.layers.RNN(c, return_sequences=True, return_state=True, name=f"rnn_{i}")
            for i, c in enumerate(self.cells)
        ]
        self.attention = make_attention(attention, units, luong_score)
        self.bridge = keras.layers.Dense(
            units * state_size(cell) * num_layers, activation="tanh", name="bridge"
        )
        self.combine = keras.layers.Dense(units, activation="tanh", use_bias=False, name="combine")
        self.dropout_layer = keras.layers.Dropout(dropout)
        self.output_projection: keras.layers.Layer = (
            TiedOutput(self.embedding, name="output_projection")
            if tie_embeddings
            else keras.layers.Dense(vocab_size, name="output_projection")
        )

    def build(self, *shapes: Any) -> None:
        """Sub-layers build on first use; the first decoding step runs outside any loop."""
        self.built = True

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
        self, embedded: tf.Tensor, state: State, memory: Memory, training: bool = False
    ) -> tuple[tf.Tensor, State, tf.Tensor]:
        """One time step from embedded input ``[B, E]``: attentional ``[B, units]``, state,
        attention weights ``[B, S]``."""
        keys, values, mask = memory
        inputs = tf.concat([embedded, state[-1]], axis=-1) if self.input_feeding else embedded
        per_layer = state_size(self.cell)
        new_state: list[tf.Tensor] = []
        for i, cell in enumerate(self.cells):
            layer_state = list(state[i * per_layer : (i + 1) * per_layer])
            output, layer_new = cell(inputs, layer_state)
            new_state.extend(layer_new)
            last = i == len(self.cells) - 1
            inputs = output if last else self.dropout_layer(output, training=training)
        context, weights = self.attention(inputs[:, tf.newaxis], keys, values, mask)
        attentional = self.combine(tf.concat([context[:, 0], inputs], axis=-1))
        return attentional, (*new_state, attentional), weights[:, 0]

    def step(
        self, token_ids: tf.Tensor, state: State, memory: Memory
    ) -> tuple[tf.Tensor, State, tf.Tensor]:
        """Decode one step for previous tokens ``[B]``: logits ``[B, V]``, new state, weights."""
        attentional, state, weights = self._advance(self.embedding(token_ids), state, memory)
        return self.output_projection(attentional), state, weights

    def _all_steps_at_once(
        self, embedded: tf.Tensor, state: State, memory: Memory, training: bool
    ) -> tf.Tensor:
        """Attentional vectors ``[B, T, units]`` without input feeding: the recurrent layers
        run over the whole sequence, then attention covers every step in one batch."""
        keys, values, mask = memory
        per_layer = state_size(self.cell)
        outputs = embedded
        for i, layer in enumerate(self.sequence_layers):
            initial = list(state[i * per_layer : (i + 1) * per_layer])
            if i > 0:
                outputs = self.dropout_layer(outputs, training=training)
            outputs = layer(outputs, initial_state=initial)[0]
        context, _ = self.attention(outputs, keys, values, mask)
        return self.combine(tf.concat([context, outputs], axis=-1))

    def call(
        self, target_in: tf.Tensor, memory: Memory, state: State, training: bool = False
    ) -> tf.Tensor:
        """Teacher-forced logits ``[B, T, V]`` for decoder inputs ``[B, T]`` (BOS + target)."""
        embedded = self.dropout_layer(self.embedding(target_in), training=training)
        if not self.input_feeding:
            attentional = self._all_steps_at_once(embedded, state, memory, training)
            attentional = self.dropout_layer(attentional, training=training)
            return self.output_projection(attentional)
        time_major = tf.transpose(embedded, [1, 0, 2])
        steps = tf.shape(time_major)[0]
        # The first step runs outside the loop so that every variable exists before it.
        first, state, _ = self._advance(time_major[0], state, memory, training)
        outputs = tf.TensorArray(first.dtype, size=steps, element_shape=first.shape)
        outputs = outputs.write(0, first)

        def body(t: tf.Tensor, outputs: tf.TensorArray, state: State) -> Any:
            attentional, state, _ = self._advance(time_major[t], state, memory, training)
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

    def attention_weights(self, target_in: tf.Tensor, memory: Memory, state: State) -> tf.Tensor:
        """Teacher-forced attention weights ``[B, T, S]`` for decoder inputs ``[B, T]``.

        Row ``t`` is the distribution over source positions at the step that
        predicts the token after ``target_in[:, t]`` (inference: no dropout).
        """
        time_major = tf.transpose(self.embedding(target_in), [1, 0, 2])
        steps = tf.shape(time_major)[0]
        weights = tf.TensorArray(memory[1].dtype, size=steps)

        def body(t: tf.Tensor, weights: tf.TensorArray, state: State) -> Any:
            _, state, step_weights = self._advance(time_major[t], state, memory)
            return t + 1, weights.write(t, step_weights), state

        _, weights, _ = tf.while_loop(
            lambda t, *_: t < steps, body, (tf.constant(0), weights, state)
        )
        return tf.transpose(weights.stack(), [1, 0, 2])

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
            "tie_embeddings": self.tie_embeddings,
        }
