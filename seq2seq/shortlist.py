"""Lexical shortlists: the target pieces a batch's translations may use, and a model that
scores only those.

A shortlist is the union of the ``top_k`` likeliest target pieces of every source
piece in the batch (preprocessing's lexical table, ``core.contract.LEXICAL_TABLE_FILE``),
the ``frequent`` most frequent target pieces and the special ids. Searches then rank the
output layer's rows of those pieces only, and their scores are log-probabilities
normalised over the shortlist rather than the whole vocabulary.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import tensorflow as tf

from core.contract import BOS_ID, EOS_ID, PAD_ID, UNK_ID
from seq2seq.layers.memory import Memory, State
from seq2seq.layers.output_layer import restricted_output
from seq2seq.model import Seq2Seq

SPECIAL_IDS = (PAD_ID, UNK_ID, BOS_ID, EOS_ID)


class ShortlistError(ValueError):
    """A lexical table that is missing, malformed or too small for the requested shortlist."""


def read_table(
    path: Path, top_k: int, frequent: int, source_vocab: int, target_vocab: int
) -> tuple[np.ndarray, np.ndarray]:
    """Candidates ``[source_vocab, top_k]`` (int32, padded with ``PAD_ID``) and the pieces every
    shortlist holds ``[N]`` (special ids, then the ``frequent`` most frequent) from the lexical
    table at ``path``. Raises ``ShortlistError`` naming the file and the problem."""
    if not path.is_file():
        raise ShortlistError(f"{path}: no lexical table; run preprocessing again to write it")
    try:
        table = json.loads(path.read_text(encoding="utf-8"))
        candidates, ranked, stored_k = table["candidates"], table["frequent"], table["top_k"]
    except (ValueError, KeyError, TypeError) as err:
        raise ShortlistError(f"{path}: not a lexical table ({err})") from None
    if top_k > stored_k:
        raise ShortlistError(
            f"{path}: holds {stored_k} candidates per source piece, fewer than "
            f"decode.shortlist.top_k = {top_k}; lower top_k or raise data.lexical_table.top_k"
        )
    if len(candidates) > source_vocab or any(i >= target_vocab for i in ranked):
        raise ShortlistError(f"{path}: ids beyond the model's vocabulary (another run's table?)")
    rows = np.full([source_vocab, top_k], PAD_ID, np.int32)
    for source, targets in enumerate(candidates):
        rows[source, : len(targets[:top_k])] = targets[:top_k]
    if rows.size and rows.max() >= target_vocab:
        raise ShortlistError(f"{path}: ids beyond the model's vocabulary (another run's table?)")
    always = np.array([*SPECIAL_IDS, *ranked[:frequent]], np.int32)
    return rows, always


def full_table(source_vocab: int, target_vocab: int) -> tuple[np.ndarray, np.ndarray]:
    """A table whose every shortlist is the whole target vocabulary (for tests and checks)."""
    rows = np.tile(np.arange(target_vocab, dtype=np.int32), [source_vocab, 1])
    return rows, np.array(SPECIAL_IDS, np.int32)


class Shortlist(tf.Module):
    """The lexical table as variables of the exported graph, and each batch's shortlist."""

    def __init__(self, candidates: np.ndarray, always: np.ndarray, target_vocab: int) -> None:
        super().__init__(name="shortlist")
        self.candidates = tf.Variable(candidates, trainable=False, name="candidates")
        self.always = tf.Variable(always, trainable=False, name="always")
        self.target_vocab = target_vocab

    def pieces(self, source_ids: tf.Tensor, at_least: tf.Tensor | int = 0) -> tf.Tensor:
        """The shortlist ``[U]`` (increasing ids, at most the target vocabulary) of a batch of
        source ids ``[B, S]`` (padding 0): the special ids are its first entries, so their
        positions equal their ids. Ids below ``at_least`` are added, so that ``U`` is at
        least ``min(at_least, vocabulary)``."""
        flat = tf.reshape(source_ids, [-1])
        rows = tf.shape(self.candidates)[0]
        known = tf.boolean_mask(flat, tf.logical_and(flat >= 0, flat < rows))
        lowest = tf.range(tf.minimum(tf.cast(at_least, tf.int32), self.target_vocab))
        candidates = tf.reshape(tf.gather(self.candidates, known), [-1])
        chosen = tf.concat([candidates, self.always, lowest], 0)
        marks = tf.scatter_nd(chosen[:, tf.newaxis], tf.ones_like(chosen), [self.target_vocab])
        return tf.cast(tf.where(marks > 0)[:, 0], tf.int32)


class ShortlistedModel:
    """A ``StepModel`` whose steps score only ``pieces [U]``: logits ``[N, U]``, whose column
    ``j`` is piece ``pieces[j]``."""

    def __init__(self, model: Seq2Seq, pieces: tf.Tensor) -> None:
        self.model = model
        self.pieces = pieces
        self._logits = restricted_output(model.decoder.output_projection, pieces)

    def encode(self, source_ids: tf.Tensor, training: bool = False) -> tuple[Memory, State]:
        """The model's own encoder."""
        return self.model.encode(source_ids, training=training)

    def step(
        self, token_ids: tf.Tensor, state: State, memory: Memory
    ) -> tuple[tf.Tensor, State, tf.Tensor]:
        """One decoder step (tokens are vocabulary ids): logits over the shortlist."""
        attentional, state, weights = self.model.decoder.step_attentional(token_ids, state, memory)
        return self._logits(attentional), state, weights
