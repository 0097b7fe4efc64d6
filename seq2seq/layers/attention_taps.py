"""How the teacher-forced decoder loop gets its attention memory's gradient in one product.

Every step of the input-feeding loop reads the same keys ``[B, S, D_key]`` and
values ``[B, S, D_mem]``. Left to autodiff, the loop's gradient forms an outer
product ``[B, S, D]`` for each of them at every step and adds it to a running
sum: on Multi30k batches that was about a tenth of a training step. Both reads
are linear in the memory (``context_t = a_t V``; Luong scores ``q_t K^T``), so
the sums are ``A^T dC`` and ``dScores^T Q`` over all steps at once.

``AttentionTaps`` arranges that: the loop reads the memory with its gradient
stopped and adds per-step *taps*, zero tensors whose gradients are exactly
``d context_t`` and ``d scores_t``. The taps' gradient function then forms the
memory's gradient from those per-step gradients and the loop's attention
weights and queries, which ``bind`` hands over once the loop has run. Values
are unchanged (the taps are zeros); gradients agree with autodiff's to
rounding (a unit test).
"""

from __future__ import annotations

from typing import Any, NamedTuple

import tensorflow as tf


class StepTaps(NamedTuple):
    """The zero tensors one step adds: to the scores ``[B, 1, S]`` (``None`` when the
    keys keep autodiff's gradient) and to the context ``[B, 1, D_mem]``."""

    scores: tf.Tensor | None
    context: tf.Tensor


class AttentionTaps:
    """Taps for a loop of ``steps`` attention reads of ``keys`` and ``values``.

    ``tap_keys`` is for scores linear in the keys (Luong); other scores
    (Bahdanau's ``tanh``) leave the keys to autodiff.
    """

    def __init__(self, keys: tf.Tensor, values: tf.Tensor, steps: tf.Tensor, tap_keys: bool):
        self.keys = tf.stop_gradient(keys) if tap_keys else keys
        self.values = tf.stop_gradient(values)
        self._bound: dict[str, tf.Tensor] = {}
        context_taps, *score_taps = self._zeros(keys, values, steps, tap_keys)
        self._context = _steps(context_taps)
        self._scores = _steps(score_taps[0]) if score_taps else None

    def at(self, t: tf.Tensor | int) -> StepTaps:
        """The taps of step ``t``."""
        scores = None if self._scores is None else self._scores.read(t)[:, tf.newaxis]
        return StepTaps(scores, self._context.read(t)[:, tf.newaxis])

    def bind(self, weights: tf.Tensor, queries: tf.Tensor) -> None:
        """The loop's attention weights ``[T, B, S]`` and queries ``[T, B, D_key]``, which
        the memory's gradient needs; call once the loop has run, before differentiating.
        They enter that gradient as constants: first-order gradients are exact, but a
        gradient of this gradient would miss the terms through them."""
        self._bound = {"weights": tf.stop_gradient(weights), "queries": tf.stop_gradient(queries)}

    def _zeros(
        self, keys: tf.Tensor, values: tf.Tensor, steps: tf.Tensor, tap_keys: bool
    ) -> list[tf.Tensor]:
        """Zeros ``[T, B, D_mem]`` for the context and, with ``tap_keys``, ``[T, B, S]`` for
        the scores; their gradient function gives the memory's."""
        batch, sources = tf.shape(keys)[0], tf.shape(keys)[1]
        context_shape = tf.concat([tf.stack([steps, batch]), tf.shape(values)[2:]], axis=0)

        @tf.custom_gradient
        def taps(keys: tf.Tensor, values: tf.Tensor) -> Any:
            zeros = [tf.zeros(context_shape, values.dtype)]
            if tap_keys:
                zeros.append(tf.zeros(tf.stack([steps, batch, sources]), keys.dtype))

            def gradient(d_context: tf.Tensor, *d_scores: tf.Tensor) -> tuple[Any, tf.Tensor]:
                if not self._bound:
                    raise RuntimeError("AttentionTaps.bind was not called after the loop")
                d_values = _sum_over_steps(self._bound["weights"], d_context)
                if not tap_keys:
                    return None, d_values
                return _sum_over_steps(d_scores[0], self._bound["queries"]), d_values

            return zeros, gradient

        return list(taps(keys, values))


def _sum_over_steps(per_source: tf.Tensor, per_feature: tf.Tensor) -> tf.Tensor:
    """``sum_t a_t^T b_t``: ``[B, S, D]`` from ``[T, B, S]`` and ``[T, B, D]``, as one
    batched matmul (faster than the equivalent ``einsum`` on CPU)."""
    batch_major = [tf.transpose(x, [1, 0, 2]) for x in (per_source, per_feature)]
    return tf.matmul(*batch_major, adjoint_a=True)


def _steps(tensor: tf.Tensor) -> tf.TensorArray:
    """``[T, ...]`` as a TensorArray of ``T`` steps; a read's gradient is a write."""
    array = tf.TensorArray(tensor.dtype, size=tf.shape(tensor)[0], clear_after_read=False)
    return array.unstack(tensor)
