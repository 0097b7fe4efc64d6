"""Which recurrent cell or layer a config names: LSTM or GRU."""

from __future__ import annotations

from typing import Any

import keras

CELLS = ("lstm", "gru")


def make_cell(kind: str, units: int, name: str) -> keras.layers.Layer:
    """A single-step cell. Keras GRU uses ``reset_after=True`` (reset gate applied after the
    recurrent matmul) and ``h_t = z * h_{t-1} + (1 - z) * candidate``."""
    if kind == "lstm":
        return keras.layers.LSTMCell(units, name=name)
    if kind == "gru":
        return keras.layers.GRUCell(units, name=name)
    raise ValueError(f"unknown cell {kind!r}; valid options: {', '.join(CELLS)}")


def make_layer(kind: str, units: int, name: str, **kwargs: Any) -> keras.layers.Layer:
    """A whole-sequence recurrent layer returning sequences and final states."""
    if kind == "lstm":
        return keras.layers.LSTM(
            units, return_sequences=True, return_state=True, name=name, **kwargs
        )
    if kind == "gru":
        return keras.layers.GRU(
            units, return_sequences=True, return_state=True, name=name, **kwargs
        )
    raise ValueError(f"unknown cell {kind!r}; valid options: {', '.join(CELLS)}")


def state_size(kind: str) -> int:
    """Number of state tensors per layer: 2 for LSTM (h, c), 1 for GRU (h)."""
    return 2 if kind == "lstm" else 1
