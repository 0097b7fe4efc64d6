"""The Python-loop decoder the benchmarks compare against.

As in the Keras NMT tutorials: the encoder runs once, then Python calls the
model once per output step and does the search bookkeeping itself (argmax,
or beam top-k with GNMT length penalty in NumPy). The step is either called
eagerly, as in the tutorials, or as a ``tf.function`` (the faster variant,
which gives the more conservative ratios). It uses
the same trained weights, tokenizers, length limits and banned pieces as the
exported model, so greedy outputs agree with the in-graph search.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import tensorflow as tf

from core.contract import BOS_ID, EOS_ID, PAD_ID
from nmt.config import load_config
from nmt.translator_setup import load_translator
from seq2seq.decoding.ranking import log_normalizer, ranked_logits

NEG_INF = -1e9


class LoopDecoder:
    """Greedy and beam search as a Python loop over one decoder step per output token."""

    def __init__(self, config_path: Path, max_length_a: float, max_length_b: int) -> None:
        self.translator = load_translator(load_config(config_path))
        self.model = self.translator.model
        self._encode = tf.function(
            lambda ids: self.model.encode(ids, training=False),
            input_signature=[tf.TensorSpec([None, None], tf.int32)],
        )
        self._step: Any = None
        self.compiled = True
        self.a, self.b = max_length_a, max_length_b

    def encode(self, ids: tf.Tensor) -> Any:
        """The encoder, once per batch (``tf.function`` or eager)."""
        return self._encode(ids) if self.compiled else self.model.encode(ids, training=False)

    def step(self, tokens: tf.Tensor, state: Any, memory: Any) -> Any:
        """One decoder step: a ``tf.function`` traced once for any shape, or an eager call."""
        if not self.compiled:
            return self.model.step(tokens, state, memory)
        if self._step is None:
            relaxed = tf.nest.map_structure(
                lambda t: tf.TensorSpec([None] * t.shape.rank, t.dtype), (tokens, state, memory)
            )
            self._step = tf.function(self.model.step, input_signature=list(relaxed))
        return self._step(tokens, state, memory)

    def translate(
        self, texts: list[str], beam_size: int = 1, alpha: float = 0.6, compiled: bool = True
    ) -> list[str]:
        """Best translation of each text; ``compiled=False`` calls the model eagerly."""
        self.compiled = compiled
        translator = self.translator
        ids = translator.source_ids(translator.normalize(tf.constant(texts)))
        source_lengths = np.count_nonzero(ids.numpy(), axis=1)
        limits = np.maximum(np.ceil(self.a * source_lengths + self.b).astype(int), 1)
        if beam_size <= 1:
            pieces = self._greedy(ids, limits)
        else:
            pieces = self._beam(ids, limits, beam_size, alpha)
        ragged = tf.ragged.constant(pieces, dtype=tf.int32, ragged_rank=1)
        words = translator.target_tokenizer.detokenize(ragged).numpy()
        return [w.decode("utf-8") if s.strip() else "" for w, s in zip(words, texts, strict=True)]

    def _log_probs(self, logits: Any, must_end: np.ndarray) -> np.ndarray:
        """Log-softmax ``[N, V]`` with padding/BOS banned; rows at their limit may only end.

        The graph's arithmetic (``seq2seq.decoding.ranking``): the normaliser is the row
        maximum minus the log of its softmax probability, computed in bfloat16 for
        bfloat16 logits and in float32 otherwise."""
        logits = ranked_logits(logits)
        best = tf.argmax(logits, axis=-1, output_type=tf.int32)
        normalizer = log_normalizer(logits, best, tf.gather(logits, best, batch_dims=1))
        log_probs = (tf.cast(logits, tf.float32) - normalizer).numpy()
        log_probs[:, [PAD_ID, BOS_ID]] = NEG_INF
        eos = log_probs[must_end, EOS_ID]
        log_probs[must_end] = NEG_INF
        log_probs[must_end, EOS_ID] = eos
        return log_probs

    def _greedy(self, ids: tf.Tensor, limits: np.ndarray) -> list[list[int]]:
        memory, state = self.encode(ids)
        batch = len(limits)
        tokens = np.full(batch, BOS_ID, np.int32)
        finished = np.zeros(batch, bool)
        outputs: list[list[int]] = [[] for _ in range(batch)]
        for t in range(int(limits.max())):
            logits, state, _ = self.step(tf.constant(tokens), state, memory)
            tokens = self._log_probs(logits, t + 1 >= limits).argmax(axis=1).astype(np.int32)
            for i in np.flatnonzero(~finished & (tokens != EOS_ID)):
                outputs[i].append(int(tokens[i]))
            finished |= tokens == EOS_ID
            if finished.all():
                break
        return outputs

    def _beam(self, ids: tf.Tensor, limits: np.ndarray, k: int, alpha: float) -> list[list[int]]:
        batch = len(limits)
        memory, state = self.encode(ids)  # the k rows of a source share its memory
        state = tf.nest.map_structure(lambda s: tf.repeat(s, k, axis=0), state)
        scores = np.full((batch, k), NEG_INF, np.float32)
        scores[:, 0] = 0.0
        finished = np.zeros((batch, k), bool)
        lengths = np.zeros((batch, k), int)
        sequences = np.zeros((batch, k, 0), np.int32)
        tokens = np.full(batch * k, BOS_ID, np.int32)
        rows = np.arange(batch)[:, None]
        for t in range(int(limits.max())):
            logits, state, _ = self.step(tf.constant(tokens), state, memory)
            log_probs = self._log_probs(logits, np.repeat(t + 1 >= limits, k))
            log_probs = log_probs.reshape(batch, k, -1)
            vocab = log_probs.shape[-1]
            log_probs[finished] = NEG_INF
            log_probs[finished, EOS_ID] = 0.0
            totals = scores[:, :, None] + log_probs
            grown = lengths + ~finished
            normalized = totals / _penalty(grown, alpha)[:, :, None]
            flat = _top_k(normalized.reshape(batch, -1), k)
            parents, chosen = flat // vocab, (flat % vocab).astype(np.int32)
            scores = np.take_along_axis(totals.reshape(batch, -1), flat, axis=1)
            lengths = np.take_along_axis(grown, parents, axis=1)
            was_finished = np.take_along_axis(finished, parents, axis=1)
            chosen[was_finished] = PAD_ID
            finished = was_finished | (chosen == EOS_ID)
            sequences = np.concatenate([sequences[rows, parents], chosen[:, :, None]], axis=2)
            order = tf.constant((parents + rows * k).reshape(-1))
            state = tf.nest.map_structure(lambda s, o=order: tf.gather(s, o), state)
            tokens = chosen.reshape(-1)
            if finished.all():
                break
        normalized = scores / _penalty(lengths, alpha)
        best = sequences[np.arange(batch), normalized.argmax(axis=1)]
        return [[int(p) for p in row[: _end(row)]] for row in best]


def _penalty(lengths: np.ndarray, alpha: float) -> np.ndarray:
    """GNMT length penalty, in float32 as in the graph."""
    return (((5.0 + lengths) / 6.0) ** alpha).astype(np.float32)


def _top_k(values: np.ndarray, k: int) -> np.ndarray:
    """Indices of the ``k`` largest values per row, largest first, ties as in the graph."""
    return tf.math.top_k(values, k=k).indices.numpy()  # type: ignore[no-any-return]


def _end(row: np.ndarray) -> int:
    """Pieces before the first EOS or padding."""
    stops = np.flatnonzero((row == EOS_ID) | (row == PAD_ID))
    return int(stops[0]) if len(stops) else len(row)
