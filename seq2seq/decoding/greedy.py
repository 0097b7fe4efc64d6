"""Batched greedy search: a ``tf.while_loop`` over the decoder step, the encoder run once."""

from __future__ import annotations

from typing import Any

import tensorflow as tf

from seq2seq.decoding.common import SearchResult, StepModel, trim_after_eos
from seq2seq.decoding.ranking import top_candidates
from seq2seq.model import BOS_ID, EOS_ID


def greedy_search(model: StepModel, source_ids: tf.Tensor, max_lengths: tf.Tensor) -> SearchResult:
    """Pick the most probable piece at each step until every sentence has ended.

    ``source_ids [B, S]`` (0 = padding), ``max_lengths [B]``; returns a
    ``SearchResult`` with one hypothesis per source (``N = 1``).
    """
    memory, state = model.encode(source_ids, training=False)
    batch = tf.shape(source_ids)[0]
    limit = tf.reduce_max(max_lengths)
    tokens = tf.fill([batch], BOS_ID)
    finished = tf.zeros([batch], tf.bool)
    scores = tf.zeros([batch], tf.float32)
    outputs = tf.TensorArray(tf.int32, size=0, dynamic_size=True, element_shape=[None])

    def cond(t: tf.Tensor, finished: tf.Tensor, *_: Any) -> tf.Tensor:
        return tf.logical_and(t < limit, tf.logical_not(tf.reduce_all(finished)))

    def body(
        t: tf.Tensor,
        finished: tf.Tensor,
        tokens: tf.Tensor,
        scores: tf.Tensor,
        state: Any,
        outputs: tf.TensorArray,
    ) -> Any:
        logits, state, _ = model.step(tokens, state, memory)
        log_probs, ids = top_candidates(logits, t + 1 >= max_lengths, 1)
        best, best_score = ids[:, 0], log_probs[:, 0]
        best = tf.where(finished, tf.zeros_like(best), best)
        scores += tf.where(finished, tf.zeros_like(best_score), best_score)
        finished = tf.logical_or(finished, tf.equal(best, EOS_ID))
        return t + 1, finished, best, scores, state, outputs.write(t, best)

    _, _, _, scores, _, outputs = tf.while_loop(
        cond, body, (tf.constant(0), finished, tokens, scores, state, outputs)
    )
    ids = tf.transpose(outputs.stack(), [1, 0])
    ids, lengths = trim_after_eos(ids, EOS_ID)
    return SearchResult(
        ids=ids[:, tf.newaxis, :],
        lengths=lengths[:, tf.newaxis],
        scores=scores[:, tf.newaxis],
        normalized=scores[:, tf.newaxis],
    )
