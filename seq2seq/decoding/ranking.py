"""Which next pieces a search considers: the ``k`` most probable of each row of logits.

Every search step ranks ``[N, V]`` logits. Three passes over them are the
cost that matters at inference: the softmax normaliser, the top-``k``
selection and any masking. ``top_candidates`` keeps those to one oneDNN
softmax and an exact two-stage top-``k`` (``chunked_top_k``), and bans
padding and BOS among a few extra candidates instead of masking all ``V``.
"""

from __future__ import annotations

import math

import tensorflow as tf

from core.contract import BOS_ID, EOS_ID, PAD_ID
from seq2seq.decoding.common import NEG_INF

_BANNED = (PAD_ID, BOS_ID)
_SMALLEST_CHUNKED = 1024  # below this many columns one top_k is as fast


def chunk_size(columns: int) -> int | None:
    """A divisor of ``columns`` near its square root (so the chunk maxima and one chunk
    are both short), or ``None`` when there is none within a factor of 4."""
    root = math.isqrt(columns)
    for offset in range(root - root // 4 + 1):
        for size in (root + offset, root - offset):
            if 1 < size < columns and columns % size == 0:
                return size
    return None


def chunked_top_k(values: tf.Tensor, k: tf.Tensor | int) -> tuple[tf.Tensor, tf.Tensor]:
    """``tf.math.top_k(values, k)`` for ``values [N, V]``, ties included, in two stages.

    The columns split into chunks of ``C``; the ``k`` chunks with the largest
    maxima hold the ``k`` largest values (a value outside them is beaten by
    each of their maxima). Those chunks, gathered in column order so that
    equal values still rank by lower column, are ranked in full: passes over
    ``V`` and ``k * C`` values instead of a ``k``-selection over all ``V``.
    Falls back to one ``top_k`` when ``V`` is small or has no suitable divisor.
    """
    columns = values.shape[-1]
    size = chunk_size(columns) if columns and columns >= _SMALLEST_CHUNKED else None
    if size is None:
        return tf.math.top_k(values, k=k)  # type: ignore[no-any-return]
    rows = tf.shape(values)[0]
    chunks = tf.reshape(values, [rows, columns // size, size])
    _, best_chunks = tf.math.top_k(tf.reduce_max(chunks, axis=-1), k=k)
    best_chunks = tf.sort(best_chunks, axis=-1)  # [N, k], column order
    candidates = tf.reshape(tf.gather(chunks, best_chunks, batch_dims=1), [rows, -1])
    top, positions = tf.math.top_k(candidates, k=k)  # [N, k]
    chunk_of = tf.gather(best_chunks, positions // size, batch_dims=1)
    return top, chunk_of * size + positions % size


def ranked_logits(logits: tf.Tensor) -> tf.Tensor:
    """Logits in the type searches rank them in: bfloat16 stays bfloat16 (it has float32's
    range, so no ``[N, V]`` cast), anything else becomes float32."""
    return logits if logits.dtype == tf.bfloat16 else tf.cast(logits, tf.float32)


def log_normalizer(logits: tf.Tensor, best_ids: tf.Tensor, best: tf.Tensor) -> tf.Tensor:
    """``logsumexp`` of each row of ``ranked_logits`` ``[N, V]``, float32 ``[N, 1]``, from
    its most probable piece ``best_ids [N]`` with logit ``best [N]``:
    ``max(x) - log(softmax(x)[argmax])``."""
    best_prob = tf.gather(tf.nn.softmax(logits), best_ids, batch_dims=1)
    log_best = tf.math.log(tf.cast(best_prob, tf.float32))
    return (tf.cast(best, tf.float32) - log_best)[:, tf.newaxis]


def top_candidates(
    logits: tf.Tensor, must_end: tf.Tensor, k: tf.Tensor | int
) -> tuple[tf.Tensor, tf.Tensor]:
    """The ``k`` most probable next pieces of each row and their float32 log-probabilities,
    ``([N, k], [N, k])``, best first, never padding or BOS; rows where ``must_end [N]`` is
    true may only choose EOS (their other candidates score ``NEG_INF``).

    Only ``k`` candidates per row can survive a ``k``-best selection, so searches rank
    these instead of all ``V`` pieces. The log-normaliser comes from the row's most
    probable piece: ``logsumexp(x) = max(x) - log(softmax(x)[argmax])``, exact in float32
    because that probability is at least ``1 / V``. Bfloat16 logits stay bfloat16: their
    softmax rounds that probability by at most 2**-9 relative (0.002 in log-probability),
    finer than the logits' own rounding (0.03 for logits of 8 to 16).
    """
    logits = ranked_logits(logits)
    extra = len(_BANNED)
    values, ids = chunked_top_k(logits, k + extra)  # [N, k + 2]
    normalizer = log_normalizer(logits, ids[:, 0], values[:, 0])  # [N, 1]
    values = tf.cast(values, tf.float32)
    banned = tf.reduce_any(tf.equal(ids[:, :, tf.newaxis], list(_BANNED)), axis=-1)
    allowed = tf.where(banned, tf.constant(NEG_INF, tf.float32), values)
    values, keep = tf.math.top_k(allowed, k=k)  # stable: equal values keep their order
    ids = tf.gather(ids, keep, batch_dims=1)
    eos = tf.cast(logits[:, EOS_ID : EOS_ID + 1], tf.float32) - normalizer  # [N, 1]
    rest = tf.fill(tf.shape(values) - [0, 1], tf.constant(NEG_INF, tf.float32))
    end = must_end[:, tf.newaxis]
    log_probs = tf.where(end, tf.concat([eos, rest], axis=1), values - normalizer)
    return log_probs, tf.where(end, tf.fill(tf.shape(ids), EOS_ID), ids)
