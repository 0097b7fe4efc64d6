"""Subword regularization (Kudo 2018): l-best sampling of SentencePiece segmentations.

A sentence's sampled segmentation is one of its ``nbest_size`` best segmentations
under the unigram model, drawn with probability proportional to
``exp(alpha * log P(segmentation))``, Kudo's original formulation. SentencePiece's
own sampling (``encode(..., enable_sampling=True)``) draws from a per-thread
generator seeded once, so it cannot be repeated per sentence, copy and seed; here
SentencePiece only lists the n best (``NBestEncode``), and the draw is ours: the
uniform number comes from BLAKE2b of ``(seed, copy, key)``, where ``key`` names the
sentence by its pair's content (``sentence_key``); a numpy ``Generator`` seeded per
sentence would cost 3.3 s more per Multi30k copy (its construction). A copy is therefore the same on
every run, runner and worker count, and independent of the order of the sentences.
BPE models have no n-best segmentations in SentencePiece (BPE-dropout is not built).

Where the sampling runs, and why: the preprocessing stage writes ``copies`` sampled
encodings of the train split once (``pipeline.encoding``), in parallel on the Beam
workers, and training epoch ``e`` reads copy ``e mod copies``; an epoch's data is
then fixed, and a resumed epoch skips its batches as before. Measured on Multi30k
(29,000 pairs, an 8,000-piece joint unigram model, ``nbest_size`` 16, one process
on a 2-core machine, CPU seconds): sampling both sides of every pair costs 7.3 s
(5.7 s of it SentencePiece's n-best search; SentencePiece's own non-repeatable
sampling 3.7 s; the standard encoding 0.3 s); inside the training input pipeline
as a ``tf.py_function`` the same epoch cost 47 CPU-s (25 CPU-s for a
``tf.py_function`` that does nothing), against the ~61 s (122 CPU-s on 2 cores)
of a Multi30k training epoch. In the Beam stage the whole Multi30k preprocessing took
63.7 CPU-s with two copies against 45.3 without (about 9 per copy, TFRecords included).
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from typing import Any

from pipeline.config import SubwordSamplingConfig

# SentencePiece's unigram lattice: an unknown character's score is the lowest piece
# score minus this penalty (src/unigram_model.cc).
_UNK_PENALTY = 10.0


def sentence_key(side: str, source: str, target: str) -> bytes:
    """The sampling key of one side of a pair: its side and the pair's text."""
    return "\t".join((side, source, target)).encode("utf-8")


def _is_special(processor: Any, i: int) -> bool:
    return bool(
        processor.IsUnknown(i)
        or processor.IsControl(i)
        or processor.IsByte(i)
        or processor.IsUnused(i)
    )


def user_defined_ids(processor: Any) -> frozenset[int]:
    """The ids of the model's user-defined symbols: the pieces of score 0 that are neither
    unknown, control, byte nor unused pieces (a unigram model's own pieces have negative
    log-probabilities; the Python API has no ``IsUserDefined``)."""
    return frozenset(
        i
        for i in range(processor.vocab_size())
        if processor.GetScore(i) == 0.0 and not _is_special(processor, i)
    )


def lattice_scores(processor: Any) -> list[float] | None:
    """Every piece id's score in SentencePiece's unigram lattice (its log-probability), or
    None if the model has user-defined symbols (their lattice score is SentencePiece's own).

    A segmentation's log-probability is the sum of its pieces' scores. Byte pieces
    (byte fallback) and control pieces score 0: every segmentation of a sentence
    spells its unknown characters the same way, so they do not change the draw.
    """
    if user_defined_ids(processor):
        return None
    size = processor.vocab_size()
    special = [_is_special(processor, i) for i in range(size)]
    model = [0.0 if special[i] else processor.GetScore(i) for i in range(size)]
    lowest = min(score for score, s in zip(model, special, strict=True) if not s)
    for i in range(size):
        if processor.IsUnknown(i):
            model[i] = lowest - _UNK_PENALTY
    return model


def uniform(seed: int, copy: int, key: bytes) -> float:
    """A number in [0, 1) that depends only on ``seed``, ``copy`` and ``key``."""
    digest = hashlib.blake2b(b"%d\x1f%d\x1f" % (seed, copy) + key, digest_size=8).digest()
    return (int.from_bytes(digest, "little") >> 11) / float(1 << 53)


def choose(log_probs: Sequence[float], alpha: float, u: float) -> int:
    """The index drawn by ``u`` in [0, 1) with probability ∝ ``exp(alpha * log_probs[i])``."""
    top = max(log_probs)
    weights = [math.exp(alpha * (lp - top)) for lp in log_probs]
    threshold, total = u * sum(weights), 0.0
    for index, weight in enumerate(weights):
        total += weight
        if threshold < total:
            return index
    return len(weights) - 1


class LBestSampler:
    """Sampled segmentations of one SentencePiece unigram model (see the module docstring)."""

    def __init__(self, processor: Any, config: SubwordSamplingConfig) -> None:
        self._processor = processor
        self._nbest, self._alpha, self._seed = config.nbest_size, config.alpha, config.seed
        self._scores = lattice_scores(processor)
        self._symbols = user_defined_ids(processor)

    def nbest(self, sentence: str) -> tuple[list[list[int]], list[float]]:
        """The ``nbest_size`` best segmentations of ``sentence`` (ids, best first) and their
        log-probabilities. With user-defined symbols, SentencePiece's own scores (slower),
        and only the segmentations that keep the symbols of the best one whole."""
        if self._scores is None:
            return self._nbest_keeping_symbols(sentence)
        segmentations = self._processor.NBestEncode(sentence, nbest_size=self._nbest, out_type=int)
        score = self._scores.__getitem__
        return segmentations, [sum(map(score, ids)) for ids in segmentations]

    def _nbest_keeping_symbols(self, sentence: str) -> tuple[list[list[int]], list[float]]:
        proto = self._processor.NBestEncode(sentence, nbest_size=self._nbest, out_type="proto")
        found = [([p.id for p in n.pieces], n.score) for n in proto.nbests]

        def symbols(ids: list[int]) -> list[int]:
            return sorted(i for i in ids if i in self._symbols)

        whole = symbols(found[0][0])
        kept = [(ids, score) for ids, score in found if symbols(ids) == whole]
        return [ids for ids, _ in kept], [score for _, score in kept]

    def sample(self, sentence: str, key: bytes, copy: int) -> list[int]:
        """The piece ids of ``sentence``'s segmentation in sampled copy ``copy``; ``key`` names
        the sentence (``sentence_key``)."""
        segmentations, log_probs = self.nbest(sentence)
        if len(segmentations) == 1:
            return list(segmentations[0])
        index = choose(log_probs, self._alpha, uniform(self._seed, copy, key))
        return list(segmentations[index])
