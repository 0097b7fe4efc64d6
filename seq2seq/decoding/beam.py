"""Batched beam search with GNMT length penalty, as one ``tf.while_loop``.

The encoder runs once per source; the decoder state is repeated ``K`` times,
and the ``K`` hypotheses of a source attend to its memory together. Every step takes
the ``K`` best pieces of each beam (only those can survive), ranks the
``K * K`` continuations per source by length-normalised score and keeps the
best ``K``: the same choice as ranking all ``K * V``, ties included. A
finished hypothesis can only continue with EOS at no cost, so it keeps its
place until better ones push it out. The loop stops as soon as every beam of
every source has finished.
"""

from __future__ import annotations

from typing import Any

import tensorflow as tf

from seq2seq.decoding.common import (
    NEG_INF,
    SearchResult,
    StepModel,
    gnmt_length_penalty,
    trim_after_eos,
)
from seq2seq.decoding.ranking import top_candidates
from seq2seq.model import BOS_ID, EOS_ID


def _merge_beams(tensor: tf.Tensor) -> tf.Tensor:
    """``[B, K, ...]`` -> ``[B * K, ...]``."""
    shape = tf.shape(tensor)
    return tf.reshape(tensor, tf.concat([[shape[0] * shape[1]], shape[2:]], axis=0))


def _split_beams(tensor: tf.Tensor, beam_size: tf.Tensor) -> tf.Tensor:
    """``[B * K, ...]`` -> ``[B, K, ...]``."""
    shape = tf.shape(tensor)
    return tf.reshape(tensor, tf.concat([[shape[0] // beam_size, beam_size], shape[1:]], axis=0))


def _select(tensor: tf.Tensor, parents: tf.Tensor, beam_size: tf.Tensor) -> tf.Tensor:
    """Reorder a flat ``[B * K, ...]`` tensor by the chosen ``parents [B, K]``."""
    picked = tf.gather(_split_beams(tensor, beam_size), parents, batch_dims=1)
    return _merge_beams(picked)


def _candidates(
    logits: tf.Tensor, finished: tf.Tensor, must_end: tf.Tensor, beam_size: tf.Tensor
) -> tuple[tf.Tensor, tf.Tensor]:
    """Log-probabilities and pieces ``[B, K, K]`` of each beam's ``K`` best continuations;
    finished beams may only repeat EOS (cost 0), beams at their length limit may only end."""
    log_probs, ids = top_candidates(logits, tf.repeat(must_end, beam_size, axis=0), beam_size)
    log_probs, ids = _split_beams(log_probs, beam_size), _split_beams(ids, beam_size)
    eos_free = tf.one_hot(0, beam_size, on_value=0.0, off_value=NEG_INF)  # [K]
    done = finished[:, :, tf.newaxis]
    return tf.where(done, eos_free, log_probs), tf.where(done, EOS_ID, ids)


def beam_search(
    model: StepModel,
    source_ids: tf.Tensor,
    max_lengths: tf.Tensor,
    beam_size: tf.Tensor | int,
    alpha: tf.Tensor | float,
) -> SearchResult:
    """Return the ``K`` best hypotheses per source, best first.

    ``source_ids [B, S]``, ``max_lengths [B]``, scalar ``beam_size`` ``K`` and
    length-penalty ``alpha``; ``SearchResult`` with ``N = K``.
    """
    k = tf.convert_to_tensor(beam_size, tf.int32)
    batch = tf.shape(source_ids)[0]
    memory, state = model.encode(source_ids, training=False)
    state = tf.nest.map_structure(lambda s: tf.repeat(s, k, axis=0), state)
    first_beam_only = tf.concat([[0.0], tf.fill([k - 1], NEG_INF)], axis=0)
    scores = tf.tile(first_beam_only[tf.newaxis, :], [batch, 1])
    loop_vars = (
        tf.constant(0),
        scores,
        tf.zeros([batch, k], tf.bool),  # finished
        tf.zeros([batch, k], tf.int32),  # lengths (pieces incl. EOS)
        tf.zeros([batch, k, 0], tf.int32),  # sequences
        tf.fill([batch * k], BOS_ID),
        state,
    )
    limit = tf.reduce_max(max_lengths)

    def cond(t: tf.Tensor, scores: tf.Tensor, finished: tf.Tensor, *_: Any) -> tf.Tensor:
        return tf.logical_and(t < limit, tf.logical_not(tf.reduce_all(finished)))

    def body(t, scores, finished, lengths, sequences, tokens, state):  # type: ignore[no-untyped-def]
        logits, state, _ = model.step(tokens, state, memory)
        log_probs, pieces = _candidates(logits, finished, t + 1 >= max_lengths, k)
        totals = scores[:, :, tf.newaxis] + log_probs  # [B, K, K]
        grown = lengths + tf.cast(tf.logical_not(finished), tf.int32)
        normalized = totals / gnmt_length_penalty(grown, alpha)[:, :, tf.newaxis]
        _, flat = tf.math.top_k(tf.reshape(normalized, [batch, -1]), k=k)
        parents = flat // k
        tokens = tf.gather(tf.reshape(pieces, [batch, -1]), flat, batch_dims=1)
        scores = tf.gather(tf.reshape(totals, [batch, -1]), flat, batch_dims=1)
        lengths = tf.gather(grown, parents, batch_dims=1)
        was_finished = tf.gather(finished, parents, batch_dims=1)
        tokens = tf.where(was_finished, tf.zeros_like(tokens), tokens)
        finished = tf.logical_or(was_finished, tf.equal(tokens, EOS_ID))
        sequences = tf.gather(sequences, parents, batch_dims=1)
        sequences = tf.concat([sequences, tokens[:, :, tf.newaxis]], axis=2)
        state = tf.nest.map_structure(lambda s: _select(s, parents, k), state)
        return t + 1, scores, finished, lengths, sequences, _merge_beams(tokens), state

    invariants = tf.nest.map_structure(lambda v: tf.TensorShape([None] * v.shape.rank), loop_vars)
    invariants = (
        *invariants[:-1],
        tf.nest.map_structure(lambda v: tf.TensorShape([None, v.shape[-1]]), state),
    )
    _, scores, _, lengths, sequences, _, _ = tf.while_loop(
        cond, body, loop_vars, shape_invariants=invariants
    )
    normalized = scores / gnmt_length_penalty(lengths, alpha)
    order = tf.argsort(normalized, axis=1, direction="DESCENDING", stable=True)
    sequences = tf.gather(sequences, order, batch_dims=1)
    ids, piece_lengths = trim_after_eos(sequences, EOS_ID)
    return SearchResult(
        ids=ids,
        lengths=piece_lengths,
        scores=tf.gather(scores, order, batch_dims=1),
        normalized=tf.gather(normalized, order, batch_dims=1),
    )
