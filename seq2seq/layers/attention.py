"""Attention scores over encoder memory: Luong (dot, general) and Bahdanau (additive).

Both layers split the work in two: ``prepare_keys`` projects the memory once
per source batch, ``call`` scores decoder queries against those keys (each
layer's ``scores``) and attends (``ScoredAttention.call``, shared).
Shapes: memory ``[B, S, D_mem]``, keys ``[B, S, D_key]``, queries
``[B, T, D_q]`` (``T`` target steps at once, or 1 during search), mask
``[B, S]`` (True on real tokens); outputs context ``[B, T, D_mem]`` and
weights ``[B, T, S]``.
"""

from __future__ import annotations

from typing import Any

import keras
import tensorflow as tf


class ScoredAttention(keras.layers.Layer):
    """What both attention layers share: a masked softmax over their ``scores`` and the
    weighted sum of the values."""

    scores_linear_in_keys = False  # whether ``scores`` is linear in the keys (``attention_taps``)

    def scores(self, query: tf.Tensor, keys: tf.Tensor) -> tf.Tensor:
        """Scores ``[B, T, S]`` of queries ``[B, T, D_q]`` against keys ``[B, S, D_key]``."""
        raise NotImplementedError

    def call(
        self,
        query: tf.Tensor,
        keys: tf.Tensor,
        values: tf.Tensor,
        mask: tf.Tensor,
        score_tap: tf.Tensor | None = None,
    ) -> tuple[tf.Tensor, tf.Tensor]:
        """Context ``[B, T, D_mem]`` and weights ``[B, T, S]`` for queries ``[B, T, D_q]``.

        ``score_tap`` (zeros, or ``None``) is added to the scores; see ``attention_taps``.
        """
        scores = self.scores(query, keys)
        if score_tap is not None:
            scores = scores + score_tap
        scores = tf.where(mask[:, tf.newaxis, :], scores, tf.cast(scores.dtype.min, scores.dtype))
        weights = tf.nn.softmax(scores, axis=-1)
        context = tf.einsum("bts,bsd->btd", weights, values)
        return context, weights


@keras.saving.register_keras_serializable(package="seq2seq")
class LuongAttention(ScoredAttention):
    """Multiplicative attention: ``score = q . m`` (dot) or ``q . W m`` (general).

    With ``scale`` the scores are divided by ``sqrt(units)``, as in scaled dot-product
    attention; the keys carry the factor, so it costs nothing per decoder step. Unscaled
    scores of 256-wide states can saturate the softmax within the first 200 updates (all
    weight on one source position, ``</s>`` on Multi30k), and a saturated softmax passes
    almost no gradient to the other positions (BENCHMARKS.md, run 7).
    """

    scores_linear_in_keys = True  # scores are ``q . k``: see ``attention_taps``

    def __init__(
        self, units: int, score: str = "general", scale: bool = True, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        if score not in ("dot", "general"):
            raise ValueError(f"score must be 'dot' or 'general', got {score!r}")
        self.units = units
        self.score = score
        self.scale = scale
        self.key_projection = (
            keras.layers.Dense(units, use_bias=False, name="key_projection")
            if score == "general"
            else None
        )

    def prepare_keys(self, memory: tf.Tensor) -> tf.Tensor:
        """Keys ``[B, S, units]`` from memory ``[B, S, D_mem]``, computed once per batch."""
        keys = memory if self.key_projection is None else self.key_projection(memory)
        return keys * tf.cast(self.units**-0.5, keys.dtype) if self.scale else keys

    def scores(self, query: tf.Tensor, keys: tf.Tensor) -> tf.Tensor:
        """``q . k`` for queries ``[B, T, units]``."""
        return tf.einsum("btd,bsd->bts", query, keys)

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "units": self.units,
            "score": self.score,
            "scale": self.scale,
        }


@keras.saving.register_keras_serializable(package="seq2seq")
class BahdanauAttention(ScoredAttention):
    """Additive attention: ``score = v . tanh(W_q q + W_k m)``."""

    def __init__(self, units: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.units = units
        self.key_projection = keras.layers.Dense(units, use_bias=False, name="key_projection")
        self.query_projection = keras.layers.Dense(units, use_bias=False, name="query_projection")
        self.energy = keras.layers.Dense(1, use_bias=False, name="energy")

    def prepare_keys(self, memory: tf.Tensor) -> tf.Tensor:
        """Keys ``[B, S, units]`` (``W_k m``), computed once per batch."""
        return self.key_projection(memory)

    def scores(self, query: tf.Tensor, keys: tf.Tensor) -> tf.Tensor:
        """``v . tanh(W_q q + k)`` for queries ``[B, T, D_q]``."""
        projected = self.query_projection(query)[:, :, tf.newaxis, :]
        return tf.squeeze(self.energy(tf.tanh(keys[:, tf.newaxis] + projected)), axis=-1)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "units": self.units}


def make_attention(
    kind: str, units: int, luong_score: str = "general", luong_scale: bool = True
) -> ScoredAttention:
    """The attention layer named ``kind`` (``luong`` or ``bahdanau``)."""
    if kind == "luong":
        return LuongAttention(units, score=luong_score, scale=luong_scale, name="attention")
    if kind == "bahdanau":
        return BahdanauAttention(units, name="attention")
    raise ValueError(f"unknown attention {kind!r}; valid options: luong, bahdanau")
