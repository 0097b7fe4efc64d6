"""The attentional decoder: one step function shared by training and search.

State is a flat tuple: the cell states of every layer (``h, c`` per LSTM
layer, ``h`` per GRU layer), then the previous attentional vector ``[B, units]``
(fed back as input when ``input_feeding`` is on). ``Memory`` holds what every
step reads: attention keys and values, the source mask, and each layer's cell
weights, cast and arranged once per batch rather than once per step.
"""

from __future__ import annotations

from typing import Any

import keras
import tensorflow as tf

from seq2seq.layers.attention import make_attention
from seq2seq.layers.attention_taps import AttentionTaps, StepTaps
from seq2seq.layers.cell_loop import CellMath, cell_math, restore_math, run_sequence, time_steps
from seq2seq.layers.cells import make_cell, state_size
from seq2seq.layers.memory import Memory, State
from seq2seq.layers.output_layer import TiedOutput


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
        luong_scale: bool = True,
        input_feeding: bool = True,
        dropout: float = 0.0,
        tie_embeddings: bool = False,
        embedding: keras.layers.Embedding | None = None,
        bridge: bool = True,
        **kwargs: Any,
    ) -> None:
        """``tie_embeddings`` reuses the target embedding matrix as the output layer;
        ``embedding`` shares an existing embedding layer (e.g. the encoder's); ``bridge``
        initialises the state from the encoder's summary (a tanh layer), else with zeros."""
        super().__init__(**kwargs)
        self.vocab_size = vocab_size
        self.embedding_size = embedding_size
        self.units = units
        self.cell = cell
        self.num_layers = num_layers
        self.attention_kind = attention
        self.luong_score = luong_score
        self.luong_scale = luong_scale
        self.input_feeding = input_feeding
        self.dropout = dropout
        self.tie_embeddings = tie_embeddings
        self.embedding = embedding or keras.layers.Embedding(
            vocab_size, embedding_size, name="embedding"
        )
        self.cells = [make_cell(cell, units, name=f"cell_{i}") for i in range(num_layers)]
        self.attention = make_attention(attention, units, luong_score, luong_scale)
        self.bridge = (
            keras.layers.Dense(
                units * state_size(cell) * num_layers, activation="tanh", name="bridge"
            )
            if bridge
            else None
        )
        self.combine = keras.layers.Dense(units, activation="tanh", use_bias=False, name="combine")
        self.dropout_layer = keras.layers.Dropout(dropout)
        self.output_projection: keras.layers.Layer = (
            TiedOutput(self.embedding, name="output_projection")
            if tie_embeddings
            else keras.layers.Dense(vocab_size, name="output_projection")
        )

    def build(self, *shapes: Any) -> None:
        """The cells build here (layer 0 reads embeddings, plus the attentional vector with
        input feeding); other sub-layers build on first use, outside any loop."""
        if not self.embedding.built:
            self.embedding.build(None)
        fed = self.units if self.input_feeding else 0
        for i, cell in enumerate(self.cells):
            cell.build((None, self.embedding_size + fed if i == 0 else self.units))
        self.built = True

    def _maths(self, dtype: tf.DType) -> list[CellMath]:
        """Each layer's cell arithmetic; layer 0's embedding rows are hoisted out of loops."""
        first = cell_math(self.cells[0], self.embedding_size, dtype)
        return [first, *(cell_math(c, None, dtype) for c in self.cells[1:])]

    def _prepared_maths(self, memory: Memory) -> list[CellMath]:
        """The maths whose weights ``prepare`` arranged (no graph ops)."""
        return [restore_math(self.cell, self.units, w) for w in memory.cell_weights]

    def prepare(
        self, memory: tf.Tensor, mask: tf.Tensor, encoder_final: tf.Tensor
    ) -> tuple[Memory, State]:
        """Attention keys and the initial state, from the encoder's outputs."""
        if not self.built:
            self.build()
        keys = self.attention.prepare_keys(memory)
        count = state_size(self.cell) * self.num_layers
        if self.bridge is None:
            zeros = tf.zeros([tf.shape(memory)[0], self.units], keys.dtype)
            states = [zeros] * count
        else:
            states = tf.split(self.bridge(encoder_final), count, axis=-1)
        attentional = tf.zeros_like(states[0])
        weights = tuple(math.weights for math in self._maths(keys.dtype))
        return Memory(keys, memory, mask, weights), (*states, attentional)

    def _advance(
        self,
        projected: tf.Tensor,
        state: State,
        memory: Memory,
        training: bool = False,
        taps: StepTaps | None = None,
    ) -> tuple[tf.Tensor, State, tf.Tensor]:
        """One time step from the projected embedding ``[B*K, G*units]`` (layer 0's hoisted
        input part) of ``K`` hypotheses per memory row: attentional ``[B*K, units]``, state,
        attention weights ``[B*K, S]``. ``taps``: the teacher-forced loop's, for gradients."""
        maths = self._prepared_maths(memory)
        per_layer = state_size(self.cell)
        new_state: list[tf.Tensor] = []
        inputs = state[-1]
        for i, math in enumerate(maths):
            layer_state = list(state[i * per_layer : (i + 1) * per_layer])
            if i == 0:
                feed = inputs if self.input_feeding else None
                output, layer_new = math.step(projected, feed, layer_state)
            else:
                output, layer_new = math.step(math.project(inputs), None, layer_state)
            new_state.extend(layer_new)
            last = i == len(maths) - 1
            inputs = output if last else self.dropout_layer(output, training=training)
        context, weights = self._attend_per_source(inputs, memory, taps)
        attentional = self.combine(tf.concat([context, inputs], axis=-1))
        return attentional, (*new_state, attentional), weights

    def _attend_per_source(
        self, queries: tf.Tensor, memory: Memory, taps: StepTaps | None = None
    ) -> tuple[tf.Tensor, tf.Tensor]:
        """Context ``[B*K, D_mem]`` and weights ``[B*K, S]`` for the queries ``[B*K, units]`` of
        ``K`` hypotheses per memory row (``K = 1`` in training and greedy search): the ``K``
        queries of one source attend together, so memory is never repeated per hypothesis."""
        sources = tf.shape(memory.keys)[0]
        width = queries.shape[-1] if queries.shape[-1] is not None else tf.shape(queries)[-1]
        grouped = tf.reshape(queries, [sources, -1, width])  # [B, K, units]
        score_tap = None if taps is None else taps.scores
        context, weights = self.attention(
            grouped, memory.keys, memory.values, memory.mask, score_tap=score_tap
        )
        if taps is not None:
            context = context + taps.context
        rows = tf.shape(queries)[:1]
        return (
            tf.reshape(context, tf.concat([rows, tf.shape(context)[2:]], axis=0)),
            tf.reshape(weights, tf.concat([rows, tf.shape(weights)[2:]], axis=0)),
        )

    def step(
        self, token_ids: tf.Tensor, state: State, memory: Memory
    ) -> tuple[tf.Tensor, State, tf.Tensor]:
        """Decode one step for previous tokens ``[B*K]`` (``K`` consecutive rows per source of
        ``memory``): logits ``[B*K, V]``, new state, attention weights ``[B*K, S]``."""
        attentional, state, weights = self.step_attentional(token_ids, state, memory)
        return self.output_projection(attentional), state, weights

    def step_attentional(
        self, token_ids: tf.Tensor, state: State, memory: Memory
    ) -> tuple[tf.Tensor, State, tf.Tensor]:
        """``step`` up to the output layer: attentional vectors ``[B*K, units]`` (its input),
        new state, attention weights ``[B*K, S]``."""
        projected = self._prepared_maths(memory)[0].project(self.embedding(token_ids))
        return self._advance(projected, state, memory)

    def _all_steps_at_once(
        self, embedded: tf.Tensor, state: State, memory: Memory, training: bool
    ) -> tf.Tensor:
        """Attentional vectors ``[B, T, units]`` without input feeding: the recurrent layers
        run over the whole sequence, then attention covers every step in one batch (layer 0
        has no fed rows, so its prepared maths hoist its whole input)."""
        keys, values, mask = memory.keys, memory.values, memory.mask
        per_layer = state_size(self.cell)
        every_step = tf.ones(tf.shape(embedded)[:2], tf.bool)
        outputs = embedded
        for i, math in enumerate(self._prepared_maths(memory)):
            initial = list(state[i * per_layer : (i + 1) * per_layer])
            if i > 0:
                outputs = self.dropout_layer(outputs, training=training)
            outputs = run_sequence(math, outputs, every_step, initial)[0]
        context, _ = self.attention(outputs, keys, values, mask)
        return self.combine(tf.concat([context, outputs], axis=-1))

    def _projected_steps(
        self, target_in: tf.Tensor, memory: Memory, training: bool
    ) -> tf.TensorArray:
        """Layer-0 projections of the embedded inputs, ``T`` steps ``[B, G*units]``."""
        embedded = self.dropout_layer(self.embedding(target_in), training=training)
        return time_steps(self._prepared_maths(memory)[0].project(embedded))

    def call(
        self, target_in: tf.Tensor, memory: Memory, state: State, training: bool = False
    ) -> tf.Tensor:
        """Teacher-forced logits ``[B, T, V]`` for decoder inputs ``[B, T]`` (BOS + target)."""
        attentional = self.attentional(target_in, memory, state, training)
        return self.output_projection(attentional)

    def attentional(
        self, target_in: tf.Tensor, memory: Memory, state: State, training: bool = False
    ) -> tf.Tensor:
        """Teacher-forced attentional vectors ``[B, T, units]`` (after dropout), the output
        layer's inputs, for decoder inputs ``[B, T]``."""
        if not self.input_feeding:
            embedded = self.dropout_layer(self.embedding(target_in), training=training)
            attentional = self._all_steps_at_once(embedded, state, memory, training)
            return self.dropout_layer(attentional, training=training)
        projected = self._projected_steps(target_in, memory, training)
        steps = projected.size()
        linear = self.attention.scores_linear_in_keys
        taps = AttentionTaps(memory.keys, memory.values, steps, tap_keys=linear)
        memory = memory._replace(keys=taps.keys, values=taps.values)

        def advance(t: tf.Tensor, state: State) -> tuple[list[tf.Tensor], State]:
            """One step, and what it records: attentional vector, attention weights, query."""
            attentional, new, weights = self._advance(
                projected.read(t), state, memory, training, taps.at(t)
            )
            return [attentional, weights, self._query(new)], new

        # The first step runs outside the loop so that every variable exists before it.
        records, state = advance(tf.constant(0), state)
        arrays = [
            tf.TensorArray(x.dtype, size=steps, element_shape=x.shape).write(0, x) for x in records
        ]

        def body(t: tf.Tensor, arrays: list[tf.TensorArray], state: State) -> Any:
            records, state = advance(t, state)
            return t + 1, [a.write(t, x) for a, x in zip(arrays, records, strict=True)], state

        _, arrays, _ = tf.while_loop(
            lambda t, *_: t < steps,
            body,
            (tf.constant(1), arrays, state),
            maximum_iterations=steps - 1,
        )
        outputs, weights, queries = (a.stack() for a in arrays)  # [T, B, ...]
        taps.bind(weights, queries)
        attentional = tf.transpose(outputs, [1, 0, 2])
        return self.dropout_layer(attentional, training=training)

    def _query(self, state: State) -> tf.Tensor:
        """The attention query in ``state``: the top layer's output ``h`` ``[B, units]``."""
        return state[(self.num_layers - 1) * state_size(self.cell)]

    def attention_weights(self, target_in: tf.Tensor, memory: Memory, state: State) -> tf.Tensor:
        """Teacher-forced attention weights ``[B, T, S]`` for decoder inputs ``[B, T]``.

        Row ``t`` is the distribution over source positions at the step that
        predicts the token after ``target_in[:, t]`` (inference: no dropout).
        """
        projected = self._projected_steps(target_in, memory, training=False)
        steps = projected.size()
        weights = tf.TensorArray(memory.values.dtype, size=steps)

        def body(t: tf.Tensor, weights: tf.TensorArray, state: State) -> Any:
            _, state, step_weights = self._advance(projected.read(t), state, memory)
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
            "luong_scale": self.luong_scale,
            "input_feeding": self.input_feeding,
            "dropout": self.dropout,
            "tie_embeddings": self.tie_embeddings,
            "bridge": self.bridge is not None,
        }
