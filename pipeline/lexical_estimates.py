"""Lexical translation estimates over piece ids: which target pieces each source piece brings.

Pure NumPy, no Beam. Statistics live in sparse tables over the distinct
co-occurring ``(source, target)`` pairs, keyed ``(source + 1) << KEY_BITS | target``
and sorted by key; ``NULL`` (source ``-1``, key ``0 << KEY_BITS | target``) is IBM
Model 1's empty source word. Memory is bounded by the distinct pairs (at most
``source vocabulary x target vocabulary``) and one batch of sentences, never by
the corpus. Two estimates:

* **Dice** (``dice``): ``2 c(s, t) / (c(s) + c(t))`` over sentence counts, exact
  integers, one pass.
* **IBM Model 1** (``ibm1``, Brown et al. 1993): ``p(t | s)`` by EM; each
  iteration is one pass of expected counts, summed in a fixed order so the
  result does not depend on how the passes were split across workers.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from core.contract import BOS_ID, EOS_ID, PAD_ID, UNK_ID

KEY_BITS = 20  # piece ids below 2**20 (SentencePiece vocabularies are far smaller)
SPECIAL_IDS = (PAD_ID, UNK_ID, BOS_ID, EOS_ID)
SENTENCE_BATCH = 1_000  # sentences expanded into pair instances at a time

Pair = tuple[np.ndarray, np.ndarray]  # source ids, target ids (int32, no BOS/EOS)


def key_source(keys: np.ndarray) -> np.ndarray:
    """Source id of each key (``-1`` for NULL)."""
    return (keys >> KEY_BITS) - 1


def key_target(keys: np.ndarray) -> np.ndarray:
    """Target id of each key."""
    return keys & ((1 << KEY_BITS) - 1)


@dataclass
class Counts:
    """Sufficient statistics of one pass 0 over some sentences (integers, so sums are exact).

    ``keys``/``pairs``: sorted distinct pair keys (NULL included) and the number of
    sentences holding each pair; ``source_sentences``/``target_sentences``: sentences
    holding each id (indexed by id); ``target_tokens``: occurrences of each target id.
    """

    keys: np.ndarray
    pairs: np.ndarray
    source_sentences: np.ndarray
    target_sentences: np.ndarray
    target_tokens: np.ndarray


def _padded_add(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    size = max(a.size, b.size)
    return np.pad(a, (0, size - a.size)) + np.pad(b, (0, size - b.size))


def _sparse_add(keys: Sequence[np.ndarray], values: Sequence[np.ndarray]) -> Pair:
    merged, inverse = np.unique(np.concatenate(keys), return_inverse=True)
    sums = np.zeros(merged.size, np.int64)
    np.add.at(sums, inverse, np.concatenate(values))
    return merged, sums


def merge_counts(first: Counts, second: Counts) -> Counts:
    """The statistics of both sets of sentences."""
    keys, pairs = _sparse_add([first.keys, second.keys], [first.pairs, second.pairs])
    return Counts(
        keys,
        pairs,
        _padded_add(first.source_sentences, second.source_sentences),
        _padded_add(first.target_sentences, second.target_sentences),
        _padded_add(first.target_tokens, second.target_tokens),
    )


def _instances(batch: Sequence[Pair]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every (source or NULL, target) pair of each sentence: keys, target position (a group
    per target token of the batch) and sentence number, each ``[instances]`` int64."""
    rows = np.array([s.size + 1 for s, _ in batch], np.int64)  # NULL + source pieces
    columns = np.array([t.size for _, t in batch], np.int64)
    if not batch or not np.any(rows * columns):
        return (np.zeros(0, np.int64),) * 3
    sources = np.concatenate([np.concatenate([[0], s.astype(np.int64) + 1]) for s, _ in batch])
    targets = np.concatenate([t for _, t in batch]).astype(np.int64)
    target_starts = np.cumsum(columns) - columns
    sentences = np.repeat(np.arange(len(batch), dtype=np.int64), rows * columns)
    within = np.arange(sentences.size, dtype=np.int64) - np.repeat(
        np.cumsum(rows * columns) - rows * columns, rows * columns
    )
    groups = target_starts[sentences] + within % columns[sentences]
    row_keys = np.repeat(sources, np.repeat(columns, rows)) << KEY_BITS
    return row_keys | targets[groups], groups, sentences


def _batches(pairs: Sequence[Pair]) -> Iterable[Sequence[Pair]]:
    for start in range(0, len(pairs), SENTENCE_BATCH):
        yield pairs[start : start + SENTENCE_BATCH]


def _sentence_counts(ids: Iterable[np.ndarray]) -> np.ndarray:
    unique = [np.unique(x) for x in ids]
    flat = np.concatenate(unique) if unique else np.zeros(0, np.int64)
    return np.bincount(flat.astype(np.int64)) if flat.size else np.zeros(0, np.int64)


def count_pairs(pairs: Sequence[Pair]) -> Counts:
    """Pass 0 over ``pairs``: distinct pairs with their sentence counts, and id counts."""
    keys, counts = [], []
    for batch in _batches(pairs):
        instance_keys, _, sentences = _instances(batch)
        per_sentence = np.unique((sentences << (2 * KEY_BITS)) | instance_keys)
        distinct, pair_counts = np.unique(
            per_sentence & ((1 << (2 * KEY_BITS)) - 1), return_counts=True
        )
        keys.append(distinct)
        counts.append(pair_counts.astype(np.int64))
    empty = np.zeros(0, np.int64)
    merged_keys, merged_counts = _sparse_add(keys, counts) if keys else (empty, empty)
    targets = [t for _, t in pairs]
    tokens = np.concatenate(targets).astype(np.int64) if targets else empty
    return Counts(
        merged_keys,
        merged_counts,
        _sentence_counts(s for s, _ in pairs),
        _sentence_counts(targets),
        np.bincount(tokens) if tokens.size else np.zeros(0, np.int64),
    )


def expected_counts(pairs: Sequence[Pair], keys: np.ndarray, probs: np.ndarray) -> np.ndarray:
    """IBM Model 1's E-step over ``pairs``: expected alignment counts ``[len(keys)]`` given
    ``p(t | s)`` per key (``probs``, aligned with ``keys``; every pair must be a key)."""
    counts = np.zeros(keys.size, np.float64)
    for batch in _batches(pairs):
        instance_keys, groups, _ = _instances(batch)
        if not instance_keys.size:
            continue
        index = np.searchsorted(keys, instance_keys)
        p = probs[index]
        totals = np.bincount(groups, weights=p)
        counts += np.bincount(index, weights=p / totals[groups], minlength=keys.size)
    return counts


def normalize_by_source(keys: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """IBM Model 1's M-step: ``p(t | s) = c(s, t) / sum_t' c(s, t')`` per key."""
    sources = keys >> KEY_BITS
    totals = np.bincount(sources, weights=counts)
    return counts / totals[sources]


def initial_probs(keys: np.ndarray) -> np.ndarray:
    """The first E-step's table: uniform (every pair of a sentence equally likely)."""
    return np.ones(keys.size, np.float64)


def dice_scores(counts: Counts) -> np.ndarray:
    """``2 c(s, t) / (c(s) + c(t))`` per key (NULL keys score 0)."""
    sources, targets = key_source(counts.keys), key_target(counts.keys)
    real = sources >= 0
    denominator = np.ones(counts.keys.size, np.float64)
    denominator[real] = (
        counts.source_sentences[sources[real]] + counts.target_sentences[targets[real]]
    )
    return np.where(real, 2.0 * counts.pairs / denominator, 0.0)


def rank_candidates(keys: np.ndarray, scores: np.ndarray, top_k: int) -> list[list[int]]:
    """Per source id ``0 .. max``: its ``top_k`` target ids by score (higher first, then lower
    id), never a special id or NULL's."""
    sources, targets = key_source(keys), key_target(keys)
    usable = (sources >= 0) & ~np.isin(targets, SPECIAL_IDS)
    sources, targets, scores = sources[usable], targets[usable], scores[usable]
    order = np.lexsort((targets, -scores, sources))
    sources, targets = sources[order], targets[order]
    starts = np.searchsorted(sources, sources, side="left")
    keep = np.arange(sources.size) - starts < top_k
    table: list[list[int]] = [[] for _ in range(int(sources.max()) + 1 if sources.size else 0)]
    for source, target in zip(sources[keep].tolist(), targets[keep].tolist(), strict=True):
        table[source].append(target)
    return table


def frequency_ranking(target_tokens: np.ndarray) -> list[int]:
    """Every target id that occurs, most frequent first (then lower id), specials left out."""
    ids = np.flatnonzero(target_tokens)
    ids = ids[~np.isin(ids, SPECIAL_IDS)]
    order = np.lexsort((ids, -target_tokens[ids]))
    return [int(i) for i in ids[order]]
