"""What every decoder step reads: the encoder side, prepared once per source batch."""

from __future__ import annotations

from typing import NamedTuple

import tensorflow as tf

State = tuple[tf.Tensor, ...]
"""Decoder state: each layer's cell state (``h, c`` per LSTM layer, ``h`` per GRU layer),
then the previous attentional vector ``[B, units]``."""


class Memory(NamedTuple):
    """The encoder side of decoding, prepared once per source batch."""

    keys: tf.Tensor  # [B, S, D_key] attention keys
    values: tf.Tensor  # [B, S, D_mem] encoder outputs
    mask: tf.Tensor  # [B, S] True on real source tokens
    cell_weights: tuple[tuple[tf.Tensor, ...], ...]  # per decoder layer, see CellMath

    def per_source(self) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
        """The tensors with one row per source (keys, values, mask), which a search
        gathers when sources leave the batch; the cell weights are shared by all rows."""
        return self.keys, self.values, self.mask

    def with_per_source(self, tensors: tuple[tf.Tensor, tf.Tensor, tf.Tensor]) -> Memory:
        """This memory with ``per_source()`` replaced by ``tensors``."""
        keys, values, mask = tensors
        return self._replace(keys=keys, values=values, mask=mask)
