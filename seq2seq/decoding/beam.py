"""Batched beam search with GNMT length penalty, as one ``tf.while_loop``.

The encoder runs once per source; the decoder state is repeated ``K`` times,
and the ``K`` hypotheses of a source attend to its memory together. Every step takes
the ``K`` best pieces of each beam (only those can survive), ranks the
``K * K`` continuations per source by length-normalised score and keeps the
best ``K``: the same choice as ranking all ``K * V``, ties included. A
finished hypothesis can only continue with EOS at no cost, so it keeps its
place until better ones push it out. Sources whose ``K`` hypotheses have all
finished leave the batch once the unfinished ones, rounded up
(``common.compact_size``), are fewer than the live sources (results are stored at each
source's original row; finished sources that fill the rounding only repeat
EOS, so storing them again later changes nothing), and the loop stops as soon
as every source has finished.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import tensorflow as tf

from core.contract import BOS_ID, EOS_ID
from seq2seq.decoding.common import (
    NEG_INF,
    SearchResult,
    StepModel,
    column_pieces,
    compact_size,
    gnmt_length_penalty,
    loop_shape,
    rows_to_keep,
    trim_after_eos,
)
from seq2seq.decoding.ranking import top_candidates


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
    logits: tf.Tensor,
    finished: tf.Tensor,
    must_end: tf.Tensor,
    beam_size: tf.Tensor,
    vocabulary: tf.Tensor | None,
) -> tuple[tf.Tensor, tf.Tensor]:
    """Log-probabilities and pieces ``[B, K, K]`` of each beam's ``K`` best continuations;
    finished beams may only repeat EOS (cost 0), beams at their length limit may only end."""
    log_probs, ids = top_candidates(logits, tf.repeat(must_end, beam_size, axis=0), beam_size)
    ids = column_pieces(ids, vocabulary)
    log_probs, ids = _split_beams(log_probs, beam_size), _split_beams(ids, beam_size)
    eos_free = tf.one_hot(0, beam_size, on_value=0.0, off_value=NEG_INF)  # [K]
    done = finished[:, :, tf.newaxis]
    return tf.where(done, eos_free, log_probs), tf.where(done, EOS_ID, ids)


class _Beams(NamedTuple):
    """The live sources' hypotheses: ``n`` sources, ``K`` hypotheses each, ``t`` steps."""

    rows: tf.Tensor  # [n] original row of each live source
    scores: tf.Tensor  # [n, K] summed log-probabilities
    finished: tf.Tensor  # [n, K]
    lengths: tf.Tensor  # [n, K] pieces including EOS
    sequences: tf.Tensor  # [n, K, t]
    tokens: tf.Tensor  # [n * K] the last pieces
    limits: tf.Tensor  # [n] output length limits
    state: Any  # decoder state, [n * K, ...] each
    memory: tuple[tf.Tensor, tf.Tensor, tf.Tensor]  # Memory.per_source(), [n, ...] each


class _Results(NamedTuple):
    """Every source's final hypotheses, at its original row (``L`` = the longest limit)."""

    scores: tf.Tensor  # [B, K]
    lengths: tf.Tensor  # [B, K]
    sequences: tf.Tensor  # [B, K, L]


def _grow(
    beams: _Beams,
    logits: tf.Tensor,
    state: Any,
    t: tf.Tensor,
    k: tf.Tensor,
    alpha: tf.Tensor | float,
    vocabulary: tf.Tensor | None = None,
) -> _Beams:
    """Keep the ``K`` best continuations of each live source after one decoder step."""
    sources = tf.shape(beams.scores)[0]
    log_probs, pieces = _candidates(logits, beams.finished, t + 1 >= beams.limits, k, vocabulary)
    totals = beams.scores[:, :, tf.newaxis] + log_probs  # [n, K, K]
    grown = beams.lengths + tf.cast(tf.logical_not(beams.finished), tf.int32)
    normalized = totals / gnmt_length_penalty(grown, alpha)[:, :, tf.newaxis]
    _, flat = tf.math.top_k(tf.reshape(normalized, [sources, -1]), k=k)
    parents = flat // k
    tokens = tf.gather(tf.reshape(pieces, [sources, -1]), flat, batch_dims=1)
    was_finished = tf.gather(beams.finished, parents, batch_dims=1)
    tokens = tf.where(was_finished, tf.zeros_like(tokens), tokens)
    sequences = tf.gather(beams.sequences, parents, batch_dims=1)
    return beams._replace(
        scores=tf.gather(tf.reshape(totals, [sources, -1]), flat, batch_dims=1),
        finished=tf.logical_or(was_finished, tf.equal(tokens, EOS_ID)),
        lengths=tf.gather(grown, parents, batch_dims=1),
        sequences=tf.concat([sequences, tokens[:, :, tf.newaxis]], axis=2),
        tokens=_merge_beams(tokens),
        state=tf.nest.map_structure(lambda s: _select(s, parents, k), state),
    )


def _retire(
    beams: _Beams, results: _Results, k: tf.Tensor, size: tf.Tensor
) -> tuple[_Beams, _Results]:
    """Store the sources whose hypotheses have all finished; keep ``size`` sources live,
    the unfinished ones first."""
    done = tf.reduce_all(beams.finished, axis=1)
    at = tf.boolean_mask(beams.rows, done)[:, tf.newaxis]
    width = tf.shape(results.sequences)[2] - tf.shape(beams.sequences)[2]
    sequences = tf.pad(tf.boolean_mask(beams.sequences, done), [[0, 0], [0, 0], [0, width]])
    results = _Results(
        tf.tensor_scatter_nd_update(results.scores, at, tf.boolean_mask(beams.scores, done)),
        tf.tensor_scatter_nd_update(results.lengths, at, tf.boolean_mask(beams.lengths, done)),
        tf.tensor_scatter_nd_update(results.sequences, at, sequences),
    )
    keep = rows_to_keep(tf.logical_not(done), size)

    def per_source(tensor: tf.Tensor) -> tf.Tensor:
        return tf.gather(tensor, keep)

    def per_hypothesis(tensor: tf.Tensor) -> tf.Tensor:
        return _merge_beams(per_source(_split_beams(tensor, k)))

    live = _Beams(
        rows=per_source(beams.rows),
        scores=per_source(beams.scores),
        finished=per_source(beams.finished),
        lengths=per_source(beams.lengths),
        sequences=per_source(beams.sequences),
        tokens=per_hypothesis(beams.tokens),
        limits=per_source(beams.limits),
        state=tf.nest.map_structure(per_hypothesis, beams.state),
        memory=tf.nest.map_structure(per_source, beams.memory),
    )
    return live, results


def beam_search(
    model: StepModel,
    source_ids: tf.Tensor,
    max_lengths: tf.Tensor,
    beam_size: tf.Tensor | int,
    alpha: tf.Tensor | float,
    vocabulary: tf.Tensor | None = None,
) -> SearchResult:
    """Return the ``K`` best hypotheses per source, best first.

    ``source_ids [B, S]``, ``max_lengths [B]``, scalar ``beam_size`` ``K`` and
    length-penalty ``alpha``; ``vocabulary [U]``: the piece of each logit column when
    the model scores a shortlist (``None``: column = id). ``SearchResult`` with ``N = K``.
    """
    k = tf.convert_to_tensor(beam_size, tf.int32)
    batch = tf.shape(source_ids)[0]
    memory, state = model.encode(source_ids, training=False)
    limit = tf.reduce_max(max_lengths)
    first_beam_only = tf.concat([[0.0], tf.fill([k - 1], NEG_INF)], axis=0)
    beams = _Beams(
        rows=tf.range(batch),
        scores=tf.tile(first_beam_only[tf.newaxis, :], [batch, 1]),
        finished=tf.zeros([batch, k], tf.bool),
        lengths=tf.zeros([batch, k], tf.int32),
        sequences=tf.zeros([batch, k, 0], tf.int32),
        tokens=tf.fill([batch * k], BOS_ID),
        limits=max_lengths,
        state=tf.nest.map_structure(lambda s: tf.repeat(s, k, axis=0), state),
        memory=memory.per_source(),
    )
    results = _Results(
        tf.zeros([batch, k]), tf.zeros([batch, k], tf.int32), tf.zeros([batch, k, limit], tf.int32)
    )

    def cond(t: tf.Tensor, beams: _Beams, _: _Results) -> tf.Tensor:
        return tf.logical_and(t < limit, tf.logical_not(tf.reduce_all(beams.finished)))

    def body(t: tf.Tensor, beams: _Beams, results: _Results) -> Any:
        logits, state, _ = model.step(
            beams.tokens, beams.state, memory.with_per_source(beams.memory)
        )
        beams = _grow(beams, logits, state, t, k, alpha, vocabulary)
        size = compact_size(tf.logical_not(tf.reduce_all(beams.finished, axis=1)))
        beams, results = tf.cond(
            size < tf.size(beams.rows),
            lambda: _retire(beams, results, k, size),
            lambda: (beams, results),
        )
        return t + 1, beams, results

    invariants = (
        tf.TensorShape([]),
        tf.nest.map_structure(loop_shape, beams),
        tf.nest.map_structure(loop_shape, results),
    )
    steps, beams, results = tf.while_loop(
        cond, body, (tf.constant(0), beams, results), shape_invariants=invariants
    )
    # Every source ends by its limit; a source still live here would be stored as it is.
    _, results = _retire(beams._replace(finished=tf.ones_like(beams.finished)), results, k, 0)
    scores, lengths, sequences = results
    normalized = scores / gnmt_length_penalty(lengths, alpha)
    order = tf.argsort(normalized, axis=1, direction="DESCENDING", stable=True)
    sequences = tf.gather(sequences[:, :, :steps], order, batch_dims=1)
    ids, piece_lengths = trim_after_eos(sequences, EOS_ID)
    return SearchResult(
        ids=ids,
        lengths=piece_lengths,
        scores=tf.gather(scores, order, batch_dims=1),
        normalized=tf.gather(normalized, order, batch_dims=1),
    )
