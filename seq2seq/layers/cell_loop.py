"""How an LSTM or GRU cell runs over time with its input projection outside the loop.

Keras cells compute ``x W + h U + b`` at every step. The ``x W + b`` part does
not depend on the previous state, so it is computed for all steps at once
(one large matmul ``[B*T, D] x [D, G*units]``) and only ``h U`` (plus the
input-fed attentional vector, when there is one) stays in the loop. The
arithmetic is the Keras cells' own (``LSTMCell``: gates ``i, f, g, o``;
``GRUCell`` with ``reset_after``), on the cells' own weights, so checkpoints
and the NumPy reference tests cover both.
"""

from __future__ import annotations

from typing import Protocol

import keras
import tensorflow as tf

State = list[tf.Tensor]


class CellMath(Protocol):
    """The arithmetic of one cell, with weights cast to the compute dtype."""

    units: int

    @property
    def weights(self) -> tuple[tf.Tensor, ...]:
        """The arranged weights; ``restore_math`` rebuilds the maths from them."""

    def project(self, inputs: tf.Tensor) -> tf.Tensor:
        """``inputs [..., D_head] W_head + b``: the hoisted part ``[..., G*units]``."""

    def step(
        self, projected: tf.Tensor, feed: tf.Tensor | None, state: State
    ) -> tuple[tf.Tensor, State]:
        """Output ``[B, units]`` and new state from ``projected [B, G*units]``, the fed
        inputs ``[B, D_feed]`` (the kernel rows after ``D_head``) and the state."""


class _LSTMMath:
    def __init__(self, units: int, head: tf.Tensor, loop: tf.Tensor, bias: tf.Tensor) -> None:
        """``head [D_head, 4U]``; ``loop [D_feed + U, 4U]``: fed inputs and the previous
        output share one matmul, ``[feed, h] [W_feed; U]``; ``bias [4U]``."""
        self.units, self.head, self.loop, self.bias = units, head, loop, bias

    @classmethod
    def of_cell(cls, cell: keras.layers.LSTMCell, head: int, dtype: tf.DType) -> _LSTMMath:
        kernel = tf.cast(cell.kernel, dtype)
        recurrent = tf.cast(cell.recurrent_kernel, dtype)
        loop = tf.concat([kernel[head:], recurrent], axis=0)
        return cls(cell.units, kernel[:head], loop, tf.cast(cell.bias, dtype))

    @property
    def weights(self) -> tuple[tf.Tensor, ...]:
        return self.head, self.loop, self.bias

    def project(self, inputs: tf.Tensor) -> tf.Tensor:
        return tf.tensordot(inputs, self.head, axes=1) + self.bias

    def step(
        self, projected: tf.Tensor, feed: tf.Tensor | None, state: State
    ) -> tuple[tf.Tensor, State]:
        h, c = state
        inputs = h if feed is None else tf.concat([feed, h], axis=-1)
        z = projected + tf.matmul(inputs, self.loop)
        i, f, g, o = tf.split(z, 4, axis=-1)
        c = tf.sigmoid(f) * c + tf.sigmoid(i) * tf.tanh(g)
        h = tf.sigmoid(o) * tf.tanh(c)
        return h, [h, c]


class _GRUMath:
    def __init__(
        self,
        units: int,
        head: tf.Tensor,
        feed: tf.Tensor,
        recurrent: tf.Tensor,
        input_bias: tf.Tensor,
        recurrent_bias: tf.Tensor,
    ) -> None:
        """``head [D_head, 3U]``, ``feed [D_feed, 3U]``, ``recurrent [U, 3U]``, biases
        ``[3U]`` (``reset_after``: the recurrent bias is inside the reset gate's product)."""
        self.units, self.head, self.feed, self.recurrent = units, head, feed, recurrent
        self.input_bias, self.recurrent_bias = input_bias, recurrent_bias

    @classmethod
    def of_cell(cls, cell: keras.layers.GRUCell, head: int, dtype: tf.DType) -> _GRUMath:
        if not cell.reset_after:
            raise ValueError("only reset_after GRU cells are supported")
        kernel = tf.cast(cell.kernel, dtype)
        bias = tf.cast(cell.bias, dtype)  # [2, 3U]: input bias, recurrent bias
        recurrent = tf.cast(cell.recurrent_kernel, dtype)
        return cls(cell.units, kernel[:head], kernel[head:], recurrent, bias[0], bias[1])

    @property
    def weights(self) -> tuple[tf.Tensor, ...]:
        return self.head, self.feed, self.recurrent, self.input_bias, self.recurrent_bias

    def project(self, inputs: tf.Tensor) -> tf.Tensor:
        return tf.tensordot(inputs, self.head, axes=1) + self.input_bias

    def step(
        self, projected: tf.Tensor, feed: tf.Tensor | None, state: State
    ) -> tuple[tf.Tensor, State]:
        (h,) = state
        x = projected if feed is None else projected + tf.matmul(feed, self.feed)
        inner = tf.matmul(h, self.recurrent) + self.recurrent_bias
        x_z, x_r, x_h = tf.split(x, 3, axis=-1)
        h_z, h_r, h_h = tf.split(inner, 3, axis=-1)
        z = tf.sigmoid(x_z + h_z)
        r = tf.sigmoid(x_r + h_r)
        candidate = tf.tanh(x_h + r * h_h)
        h = z * h + (1.0 - z) * candidate
        return h, [h]


def cell_math(cell: keras.layers.Layer, head: int | None, dtype: tf.DType) -> CellMath:
    """The arithmetic of a built LSTM/GRU ``cell``; its first ``head`` kernel rows take
    hoisted inputs (all rows when ``None``), the rest take fed inputs in the loop."""
    rows = cell.kernel.shape[0] if head is None else head
    if isinstance(cell, keras.layers.LSTMCell):
        return _LSTMMath.of_cell(cell, rows, dtype)
    if isinstance(cell, keras.layers.GRUCell):
        return _GRUMath.of_cell(cell, rows, dtype)
    raise TypeError(f"unsupported cell {type(cell).__name__}; valid: LSTMCell, GRUCell")


def restore_math(kind: str, units: int, weights: tuple[tf.Tensor, ...]) -> CellMath:
    """The maths of an ``lstm`` or ``gru`` cell from its ``weights`` (arranged once, outside
    any loop, and carried through the loop as tensors)."""
    if kind == "lstm":
        return _LSTMMath(units, *weights)
    return _GRUMath(units, *weights)


def time_steps(batch_major: tf.Tensor) -> tf.TensorArray:
    """``[B, T, D]`` as a TensorArray of ``T`` steps ``[B, D]``. Loops read steps from it:
    the gradient of a read is a write, where slicing a captured tensor would add a full
    ``[T, B, D]`` gradient at every step."""
    time_major = tf.transpose(batch_major, [1, 0, 2])
    steps = tf.TensorArray(batch_major.dtype, size=tf.shape(time_major)[0], clear_after_read=False)
    return steps.unstack(time_major)


def zero_state(math: CellMath, kind_size: int, batch: tf.Tensor, dtype: tf.DType) -> State:
    """``kind_size`` zero tensors ``[B, units]``: an initial state."""
    return [tf.zeros([batch, math.units], dtype) for _ in range(kind_size)]


def run_sequence(
    forward: CellMath,
    inputs: tf.Tensor,
    mask: tf.Tensor,
    forward_state: State,
    backward: CellMath | None = None,
    backward_state: State | None = None,
) -> tuple[tf.Tensor, State, State]:
    """Run cells over ``inputs [B, T, D]`` with ``mask [B, T]`` (True on real steps).

    The forward cell reads steps ``0..T-1``; the optional backward cell reads
    ``T-1..0`` in the same loop; steps after the last real one of every row change
    nothing and are not run. Masked steps keep the state and output zeros,
    so with right padding the backward cell starts at each row's last real
    step, as Keras's masked ``Bidirectional`` does. Returns outputs
    ``[B, T, units]`` (``[B, T, 2*units]`` with both directions, concatenated)
    and the final states of each direction (``[]`` for a missing one).
    """
    width = tf.shape(inputs)[1]
    # Positions after the last real one of every row change nothing (all rows keep their
    # state there), so the loop stops before them; their outputs are zeros.
    steps = last_real_position(mask)
    inputs, mask = inputs[:, :steps], mask[:, :steps]
    time_mask = tf.transpose(mask, [1, 0])[:, :, tf.newaxis]  # [T, B, 1]
    cells = [forward] if backward is None else [forward, backward]
    projected = [time_steps(cell.project(inputs)) for cell in cells]
    states = [forward_state] if backward is None else [forward_state, backward_state or []]
    shape = tf.TensorShape([None, forward.units])
    arrays = [tf.TensorArray(inputs.dtype, size=steps, element_shape=shape) for _ in cells]

    def body(t: tf.Tensor, arrays: list[tf.TensorArray], states: list[State]) -> tuple:
        out_arrays, out_states = [], []
        for i, cell in enumerate(cells):
            position = t if i == 0 else steps - 1 - t
            output, new = cell.step(projected[i].read(position), None, states[i])
            keep = time_mask[position]
            out_states.append([tf.where(keep, n, s) for n, s in zip(new, states[i], strict=True)])
            out_arrays.append(arrays[i].write(position, tf.where(keep, output, 0.0)))
        return t + 1, out_arrays, out_states

    _, arrays, states = tf.while_loop(
        lambda t, *_: t < steps, body, (tf.constant(0), arrays, states)
    )
    outputs = tf.concat([tf.transpose(a.stack(), [1, 0, 2]) for a in arrays], axis=-1)
    outputs = tf.pad(outputs, [[0, 0], [0, width - steps], [0, 0]])
    return outputs, states[0], states[1] if backward is not None else []


def last_real_position(mask: tf.Tensor) -> tf.Tensor:
    """One past the last time step that is real in any row of ``mask [B, T]`` (0 if none)."""
    positions = tf.range(1, tf.shape(mask)[1] + 1)
    real = tf.where(tf.reduce_any(mask, axis=0), positions, 0)
    return tf.reduce_max(tf.concat([[0], real], axis=0))
