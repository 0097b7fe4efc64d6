"""Raw text in, translations out, entirely in the TensorFlow graph.

``Translator`` is the one place where text becomes ids: normalisation,
SentencePiece (tensorflow-text), truncation, search and detokenisation. The
same module translates during evaluation and is what the export saves, so
the served model behaves exactly like the evaluated one.
"""

from __future__ import annotations

from typing import Any

import tensorflow as tf
import tensorflow_text as tf_text

from core.contract import (
    ALPHA,
    BEAM_SIZE,
    EOS_ID,
    MAX_LENGTH_A,
    MAX_LENGTH_B,
    SCORES,
    SHORTLIST,
    TEXT,
    TRANSLATIONS,
)
from core.normalization import Normalization
from core.normalization_graph import GraphNormalizer
from seq2seq.config import DecodeConfig
from seq2seq.decoding.beam import beam_search
from seq2seq.decoding.common import SearchResult, max_output_lengths
from seq2seq.decoding.greedy import greedy_search
from seq2seq.ensemble import EnsembleModel, shortlisted_model
from seq2seq.model import Seq2Seq
from seq2seq.shapes import pad_to_multiple
from seq2seq.shortlist import Shortlist

# Source batches are padded (masked) to a multiple of this many pieces, so that encoder
# and attention see few distinct shapes (seq2seq.shapes).
SOURCE_WIDTH_MULTIPLE = 8
_TEXT = tf.TensorSpec([None], tf.string, name=TEXT)
_OPTIONS = (
    tf.TensorSpec([], tf.int32, name=BEAM_SIZE),
    tf.TensorSpec([], tf.float32, name=ALPHA),
    tf.TensorSpec([], tf.float32, name=MAX_LENGTH_A),
    tf.TensorSpec([], tf.int32, name=MAX_LENGTH_B),
    tf.TensorSpec([], tf.int32, name=SHORTLIST),
)


class Translator(tf.Module):
    """A trained model with its tokenizers and search, as ``tf.function`` endpoints."""

    def __init__(
        self,
        model: Seq2Seq | EnsembleModel,
        source_spm: bytes,
        target_spm: bytes,
        decode: DecodeConfig,
        normalization: Normalization,
        max_input_length: int,
        shortlist: Shortlist | None = None,
    ) -> None:
        """``model``: one model or an ensemble (``seq2seq.ensemble``) over the vocabularies of
        ``source_spm`` and ``target_spm``; ``shortlist``: the lexical table; without it every
        search scores the whole vocabulary and the ``shortlist`` input changes nothing."""
        super().__init__(name="translator")
        self.model = model
        # Keras 3 lists of sub-layers are invisible to TensorFlow's object graph: track
        # every variable explicitly so that the SavedModel holds all of them.
        self.model_variables = list(model.variables)
        self.source_tokenizer = tf_text.SentencepieceTokenizer(model=source_spm, out_type=tf.int32)
        self.target_tokenizer = tf_text.SentencepieceTokenizer(model=target_spm, out_type=tf.int32)
        # The cleaning step's normalisation (core.normalization), as graph ops.
        self.normalizer = GraphNormalizer(normalization)
        self.max_input_length = max_input_length
        beam = decode.beam_size if decode.strategy == "beam" else 1
        # Attribute names: core.contract.DEFAULT_VARIABLES (the server reads them).
        self.default_beam_size = tf.Variable(beam, trainable=False, name=BEAM_SIZE)
        self.default_alpha = tf.Variable(decode.length_penalty, trainable=False, name=ALPHA)
        self.default_a = tf.Variable(decode.max_length_a, trainable=False, name=MAX_LENGTH_A)
        self.default_b = tf.Variable(decode.max_length_b, trainable=False, name=MAX_LENGTH_B)
        on = int(decode.shortlist.enabled and shortlist is not None)
        self.default_shortlist = tf.Variable(on, trainable=False, name=SHORTLIST)
        self.shortlist = shortlist

    def normalize(self, texts: tf.Tensor) -> tf.Tensor:
        """The cleaning step's normalisation of raw strings ``[B]``."""
        return self.normalizer(texts)

    def source_ids(self, texts: tf.Tensor) -> tf.Tensor:
        """Source ids ``[B, S]`` with EOS, truncated to the maximum input length and padded
        with 0 to a width ``S`` that is a multiple of ``SOURCE_WIDTH_MULTIPLE``."""
        pieces = self.source_tokenizer.tokenize(texts)[:, : self.max_input_length - 1]
        eos = tf.fill([pieces.nrows(), 1], EOS_ID)
        ids = tf.concat([pieces, tf.RaggedTensor.from_tensor(eos)], axis=1).to_tensor(0)
        return pad_to_multiple(ids, SOURCE_WIDTH_MULTIPLE, axis=1)

    def _search(
        self,
        ids: tf.Tensor,
        beam_size: tf.Tensor,
        alpha: tf.Tensor,
        a: tf.Tensor,
        b: tf.Tensor,
        shortlist: tf.Tensor,
    ) -> SearchResult:
        limits = max_output_lengths(ids, a, b)

        def search(model: Any = self.model, vocabulary: tf.Tensor | None = None) -> Any:
            return tf.cond(
                beam_size <= 1,
                lambda: greedy_search(model, ids, limits, vocabulary),
                lambda: beam_search(model, ids, limits, beam_size, alpha, vocabulary),
            )

        if self.shortlist is None:
            return search()  # type: ignore[no-any-return]
        table = self.shortlist

        def shortlisted() -> Any:
            # At least beam_size + 2 pieces: every step ranks that many (two may be banned).
            pieces = table.pieces(ids, beam_size + 2)
            return search(shortlisted_model(self.model, pieces), pieces)

        return tf.cond(shortlist > 0, shortlisted, search)  # type: ignore[no-any-return]

    def _nbest(self, texts: tf.Tensor, *options: tf.Tensor) -> dict[str, tf.Tensor]:
        """Translations and scores ``[B, N]``, best first; empty inputs give empty outputs."""
        normalized = self.normalize(texts)
        result = self._search(self.source_ids(normalized), *options)
        shape = tf.shape(result.ids)
        flat_ids = tf.reshape(result.ids, [shape[0] * shape[1], shape[2]])
        flat_lengths = tf.reshape(result.lengths, [-1])
        ragged = tf.RaggedTensor.from_tensor(flat_ids, lengths=flat_lengths)
        words = tf.reshape(self.target_tokenizer.detokenize(ragged), shape[:2])
        empty = tf.equal(tf.strings.length(normalized), 0)[:, tf.newaxis]
        return {
            TRANSLATIONS: tf.where(empty, tf.constant(""), words),
            SCORES: tf.where(empty, tf.zeros_like(result.scores), result.scores),
        }

    def default_options(self) -> tuple[tf.Tensor, ...]:
        """The stored options, in the order of ``translate_with_options``'s inputs."""
        return (
            tf.convert_to_tensor(self.default_beam_size),
            tf.convert_to_tensor(self.default_alpha),
            tf.convert_to_tensor(self.default_a),
            tf.convert_to_tensor(self.default_b),
            tf.convert_to_tensor(self.default_shortlist),
        )

    @tf.function(input_signature=[_TEXT])
    def translate(self, text: tf.Tensor) -> dict[str, tf.Tensor]:
        """Best translation ``[B]`` and its log-probability ``[B]``, with the default options."""
        best = self.nbest(text, *self.default_options())
        return {TRANSLATIONS: best[TRANSLATIONS][:, 0], SCORES: best[SCORES][:, 0]}

    @tf.function(input_signature=[_TEXT, *_OPTIONS])
    def translate_with_options(
        self,
        text: tf.Tensor,
        beam_size: tf.Tensor,
        alpha: tf.Tensor,
        max_length_a: tf.Tensor,
        max_length_b: tf.Tensor,
        shortlist: tf.Tensor,
    ) -> dict[str, Any]:
        """Like ``translate`` with explicit beam size, alpha, length limit ``a * len + b`` and
        shortlist (1) or whole vocabulary (0)."""
        best = self.nbest(text, beam_size, alpha, max_length_a, max_length_b, shortlist)
        return {TRANSLATIONS: best[TRANSLATIONS][:, 0], SCORES: best[SCORES][:, 0]}

    @tf.function(input_signature=[_TEXT, *_OPTIONS])
    def nbest(
        self,
        text: tf.Tensor,
        beam_size: tf.Tensor,
        alpha: tf.Tensor,
        max_length_a: tf.Tensor,
        max_length_b: tf.Tensor,
        shortlist: tf.Tensor,
    ) -> dict[str, tf.Tensor]:
        """All ``beam_size`` hypotheses per input, ``[B, K]`` strings and scores."""
        return self._nbest(text, beam_size, alpha, max_length_a, max_length_b, shortlist)
