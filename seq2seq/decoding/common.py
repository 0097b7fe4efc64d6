"""What every search strategy shares: the step interface, length limits and the result type."""

from __future__ import annotations

from typing import Any, NamedTuple, Protocol

import tensorflow as tf

from seq2seq.shapes import round_up

NEG_INF = -1e9

# Searches compact their batch to the unfinished rows rounded up to a power of two up to
# this (a power of two), and to a multiple of it beyond; finished rows fill the gap. That
# keeps the number of distinct batch shapes small (seq2seq.shapes).
ROW_MULTIPLE = 8
_SMALL_SIZES = (*(2**i for i in reversed(range(ROW_MULTIPLE.bit_length() - 1))), 0)  # 4, 2, 1, 0


class SearchMemory(Protocol):
    """The encoder side a search carries through its loop (``layers.memory.Memory``, or an
    ensemble's memories): its per-source tensors are what the search gathers and reorders."""

    def per_source(self) -> Any: ...

    def with_per_source(self, tensors: Any) -> Any: ...


class StepModel(Protocol):
    """What a search needs from a model: encode once, then step the decoder.

    ``step`` takes ``K`` consecutive rows of tokens and state per source in ``memory``
    (``K`` hypotheses of beam search, 1 for greedy). The state is a nest of tensors with
    one row per hypothesis (``layers.memory.State``, or a tuple of such), which searches
    gather with ``tf.nest``.
    """

    def encode(self, source_ids: tf.Tensor, training: bool = False) -> tuple[SearchMemory, Any]: ...

    def step(
        self, token_ids: tf.Tensor, state: Any, memory: Any
    ) -> tuple[tf.Tensor, Any, tf.Tensor]: ...


class SearchResult(NamedTuple):
    """Search output for a batch of ``B`` sources and ``N`` hypotheses each.

    ``ids [B, N, T]`` hold target pieces, padded with 0 after each hypothesis;
    ``lengths [B, N]`` count pieces before the end-of-sentence; ``scores [B, N]``
    are summed log-probabilities (beam search ranks by the length-normalised
    score, returned in ``normalized [B, N]``). Hypotheses are best first.
    """

    ids: tf.Tensor
    lengths: tf.Tensor
    scores: tf.Tensor
    normalized: tf.Tensor


def max_output_lengths(
    source_ids: tf.Tensor, a: tf.Tensor | float, b: tf.Tensor | int
) -> tf.Tensor:
    """Per-sentence output limit ``[B]`` = ``a * source_length + b`` (at least 1)."""
    source_lengths = tf.reduce_sum(tf.cast(tf.not_equal(source_ids, 0), tf.float32), axis=1)
    limits = tf.cast(a, tf.float32) * source_lengths + tf.cast(b, tf.float32)
    return tf.maximum(tf.cast(tf.math.ceil(limits), tf.int32), 1)


def gnmt_length_penalty(lengths: tf.Tensor, alpha: tf.Tensor | float) -> tf.Tensor:
    """GNMT's ``((5 + length) / 6) ** alpha`` (Wu et al., 2016)."""
    return tf.pow((5.0 + tf.cast(lengths, tf.float32)) / 6.0, tf.cast(alpha, tf.float32))


def loop_shape(tensor: tf.Tensor) -> tf.TensorShape:
    """A search loop variable's shape invariant: the first (source or row) dimension may
    shrink as sentences finish, and a dimension that starts empty may grow (steps)."""
    return tf.TensorShape([None, *(None if d == 0 else d for d in tensor.shape[1:])])


def compact_size(unfinished: tf.Tensor) -> tf.Tensor:
    """Rows to keep when compacting a batch with ``unfinished [n]`` (bool): the unfinished
    count rounded up to 0, a power of two below ``ROW_MULTIPLE`` or a multiple of it, at
    most ``n``. Compact only when this is below ``n``."""
    count = tf.reduce_sum(tf.cast(unfinished, tf.int32))
    rounded = round_up(count, ROW_MULTIPLE)
    for small in _SMALL_SIZES:  # largest first, so the smallest that holds ``count`` wins
        rounded = tf.where(count <= small, small, rounded)
    return tf.minimum(tf.size(unfinished), rounded)


def rows_to_keep(unfinished: tf.Tensor, size: tf.Tensor) -> tf.Tensor:
    """Indices ``[size]`` of the rows a compacted batch keeps: every unfinished row, in
    order, then finished rows (in order) up to ``size``."""
    finished_last = tf.argsort(tf.cast(tf.logical_not(unfinished), tf.int32), stable=True)
    return finished_last[:size]


def trim_after_eos(ids: tf.Tensor, eos_id: int) -> tuple[tf.Tensor, tf.Tensor]:
    """Zero every position from the first EOS on; return ids and lengths before EOS.

    ``ids [..., T]`` -> ``(ids [..., T], lengths [...])``.
    """
    is_eos = tf.equal(ids, eos_id)
    seen = tf.cumsum(tf.cast(is_eos, tf.int32), axis=-1)
    keep = tf.logical_and(tf.equal(seen, 0), tf.not_equal(ids, 0))
    lengths = tf.reduce_sum(tf.cast(keep, tf.int32), axis=-1)
    return tf.where(keep, ids, tf.zeros_like(ids)), lengths


def column_pieces(columns: tf.Tensor, vocabulary: tf.Tensor | None) -> tf.Tensor:
    """The piece ids of logit ``columns`` (any shape): ``vocabulary[columns]`` when the
    logits cover a shortlist ``vocabulary [U]``, else the columns themselves."""
    return columns if vocabulary is None else tf.gather(vocabulary, columns)
