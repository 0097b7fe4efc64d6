"""Batched greedy search: a ``tf.while_loop`` over the decoder step, the encoder run once.

Sentences that have ended leave the batch: once the unfinished rows, rounded up
(``common.compact_size``), are fewer than the batch's rows, those rows' state,
memory and limits are gathered (finished rows fill the rounding and write nothing), so
later steps compute mostly for unfinished sentences while the batch takes only
a few distinct sizes. Each step writes its pieces back at the sentences'
original rows.
"""

from __future__ import annotations

from typing import Any

import tensorflow as tf

from core.contract import BOS_ID, EOS_ID
from seq2seq.decoding.common import (
    SearchResult,
    StepModel,
    column_pieces,
    compact_size,
    loop_shape,
    rows_to_keep,
    trim_after_eos,
)
from seq2seq.decoding.ranking import top_candidates


def greedy_search(
    model: StepModel,
    source_ids: tf.Tensor,
    max_lengths: tf.Tensor,
    vocabulary: tf.Tensor | None = None,
) -> SearchResult:
    """Pick the most probable piece at each step until every sentence has ended.

    ``source_ids [B, S]`` (0 = padding), ``max_lengths [B]``; ``vocabulary [U]``: the
    piece of each logit column when the model scores a shortlist (``None``: column = id).
    Returns a ``SearchResult`` with one hypothesis per source (``N = 1``).
    """
    memory, state = model.encode(source_ids, training=False)
    batch = tf.shape(source_ids)[0]
    limit = tf.reduce_max(max_lengths)
    outputs = tf.TensorArray(tf.int32, size=0, dynamic_size=True, element_shape=[None])
    rows, unfinished = tf.range(batch), tf.ones([batch], tf.bool)
    tokens = tf.fill([batch], BOS_ID)
    live = (rows, unfinished, tokens, max_lengths, state, memory.per_source())

    def cond(t: tf.Tensor, live: Any, *_: Any) -> tf.Tensor:
        return tf.logical_and(t < limit, tf.reduce_any(live[1]))

    def body(t: tf.Tensor, live: Any, scores: tf.Tensor, outputs: tf.TensorArray) -> Any:
        rows, unfinished, tokens, limits, state, arrays = live
        logits, state, _ = model.step(tokens, state, memory.with_per_source(arrays))
        log_probs, ids = top_candidates(logits, t + 1 >= limits, 1)
        ids = column_pieces(ids, vocabulary)
        best = tf.where(unfinished, ids[:, 0], 0)
        gains = tf.where(unfinished, log_probs[:, 0], 0.0)
        scores = tf.tensor_scatter_nd_add(scores, rows[:, tf.newaxis], gains)
        outputs = outputs.write(t, tf.scatter_nd(rows[:, tf.newaxis], best, [batch]))
        unfinished = tf.logical_and(unfinished, tf.not_equal(best, EOS_ID))
        live = (rows, unfinished, best, limits, state, arrays)
        size = compact_size(unfinished)

        def compact() -> Any:
            keep = rows_to_keep(unfinished, size)
            return tf.nest.map_structure(lambda x: tf.gather(x, keep), live)

        live = tf.cond(size < tf.size(rows), compact, lambda: live)
        return t + 1, live, scores, outputs

    invariants = (
        tf.TensorShape([]),
        tf.nest.map_structure(loop_shape, live),
        tf.TensorShape([None]),
        tf.TensorShape(None),
    )
    _, _, scores, outputs = tf.while_loop(
        cond,
        body,
        (tf.constant(0), live, tf.zeros([batch], tf.float32), outputs),
        shape_invariants=invariants,
    )
    ids = tf.transpose(outputs.stack(), [1, 0])
    ids, lengths = trim_after_eos(ids, EOS_ID)
    return SearchResult(
        ids=ids[:, tf.newaxis, :],
        lengths=lengths[:, tf.newaxis],
        scores=scores[:, tf.newaxis],
        normalized=scores[:, tf.newaxis],
    )
