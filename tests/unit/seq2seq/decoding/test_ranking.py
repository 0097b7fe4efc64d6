"""The next-piece ranking every search uses: exact top-k and normalised candidates."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from core.contract import BOS_ID, EOS_ID, PAD_ID
from seq2seq.decoding.ranking import NEG_INF, chunk_size, chunked_top_k, top_candidates


def test_chunk_size_is_a_divisor_near_the_square_root() -> None:
    assert chunk_size(4096) == 64
    size = chunk_size(7000)
    assert size is not None and 7000 % size == 0 and 64 <= size <= 104
    assert chunk_size(8009) is None  # prime
    assert chunk_size(2 * 7919) is None  # only divisors far from the root


@pytest.mark.parametrize("columns", [7000, 4096, 2000])
@pytest.mark.parametrize("k", [1, 3, 7])
def test_chunked_top_k_equals_top_k_ties_included(columns: int, k: int) -> None:
    rng = np.random.default_rng(columns + k)
    # Few distinct values: many ties, inside chunks and across them.
    values = tf.constant(rng.integers(0, 5, size=(9, columns)).astype(np.float32))
    expected = tf.math.top_k(values, k=k)
    top, ids = chunked_top_k(values, k)
    np.testing.assert_array_equal(top.numpy(), expected.values.numpy())
    np.testing.assert_array_equal(ids.numpy(), expected.indices.numpy())


def test_chunked_top_k_falls_back_for_odd_widths() -> None:
    values = tf.random.stateless_normal([4, 1031], seed=[1, 2])  # prime width
    top, ids = chunked_top_k(values, 4)
    expected = tf.math.top_k(values, k=4)
    np.testing.assert_array_equal(ids.numpy(), expected.indices.numpy())
    np.testing.assert_array_equal(top.numpy(), expected.values.numpy())


def _reference(logits: np.ndarray, must_end: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Full log-softmax, banned pieces masked, ``k`` best; rows that must end pick EOS."""
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    masked = log_probs.copy()
    masked[:, [PAD_ID, BOS_ID]] = -np.inf
    ids = np.argsort(-masked, axis=1, kind="stable")[:, :k]
    scores = np.take_along_axis(log_probs, ids, axis=1)
    for row in np.flatnonzero(must_end):
        ids[row] = EOS_ID
        scores[row] = NEG_INF
        scores[row, 0] = log_probs[row, EOS_ID]
    return scores, ids


@pytest.mark.parametrize("columns", [7000, 50])
def test_top_candidates_match_a_full_log_softmax(columns: int) -> None:
    rng = np.random.default_rng(3)
    logits = (rng.normal(size=(6, columns)) * 4).astype(np.float32)
    logits[0, BOS_ID] = logits[0].max() + 5  # banned pieces on top must be skipped
    logits[1, PAD_ID] = logits[1].max() + 5
    must_end = np.array([False, False, True, False, False, True])
    scores, ids = top_candidates(tf.constant(logits), tf.constant(must_end), 4)
    expected_scores, expected_ids = _reference(logits.astype(np.float64), must_end, 4)
    np.testing.assert_array_equal(ids.numpy(), expected_ids)
    np.testing.assert_allclose(scores.numpy(), expected_scores, rtol=1e-5, atol=1e-5)
