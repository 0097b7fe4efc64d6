"""Which recurrent cell a config names: LSTM or GRU, and its number of state tensors."""

from __future__ import annotations

from typing import Any

import keras

CELLS = ("lstm", "gru")


@keras.saving.register_keras_serializable(package="seq2seq")
class Orthogonal(keras.initializers.Orthogonal):
    """Keras's orthogonal initializer, computed in float32 for any variable type (its QR
    decomposition has no bfloat16 kernel), so that bfloat16 models can be built."""

    def __call__(self, shape: Any, dtype: Any = None) -> Any:
        values = super().__call__(shape, dtype="float32")
        return keras.ops.cast(values, dtype or keras.config.floatx())


def make_cell(kind: str, units: int, name: str) -> keras.layers.Layer:
    """A single-step cell. Keras GRU uses ``reset_after=True`` (reset gate applied after the
    recurrent matmul) and ``h_t = z * h_{t-1} + (1 - z) * candidate``."""
    if kind not in CELLS:
        raise ValueError(f"unknown cell {kind!r}; valid options: {', '.join(CELLS)}")
    cell = keras.layers.LSTMCell if kind == "lstm" else keras.layers.GRUCell
    # Keras's defaults, created in Keras's order so that seeded models stay the same.
    kernel = keras.initializers.GlorotUniform()
    return cell(units, kernel_initializer=kernel, recurrent_initializer=Orthogonal(), name=name)


def state_size(kind: str) -> int:
    """Number of state tensors per layer: 2 for LSTM (h, c), 1 for GRU (h)."""
    return 2 if kind == "lstm" else 1
