"""Attention weights of finished translations, for heatmaps.

The model is run teacher-forced over each hypothesis in one graph loop
(``Seq2Seq.attention_weights`` inside a ``tf.function``), with the source and
target ids produced by the translator's own normalisation and tokenizers.
Pieces are labelled with the run's SentencePiece models.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import sentencepiece as spm
import tensorflow as tf

from core.contract import BOS_ID, EOS_ID, PAD_ID
from seq2seq.translator import Translator


@dataclass(frozen=True)
class AttentionMap:
    """Weights ``[target pieces + </s>, source pieces + </s>]`` of one sentence."""

    line: int
    source_pieces: list[str]
    target_pieces: list[str]
    weights: np.ndarray


def _labels(processor: spm.SentencePieceProcessor, ids: Sequence[int]) -> list[str]:
    return ["</s>" if i == EOS_ID else str(processor.id_to_piece(int(i))) for i in ids]


class AttentionReader:
    """Teacher-forced attention of a translator's model over given hypotheses."""

    def __init__(self, translator: Translator, source_spm: Path, target_spm: Path) -> None:
        self.translator = translator
        self.source_pieces = spm.SentencePieceProcessor(model_file=str(source_spm))
        self.target_pieces = spm.SentencePieceProcessor(model_file=str(target_spm))
        self._weights = tf.function(translator.model.attention_weights)

    def read(
        self, lines: Sequence[int], sources: Sequence[str], hypotheses: Sequence[str]
    ) -> list[AttentionMap]:
        """Attention maps of the 0-based ``lines`` (labelled 1-based in the result)."""
        if not lines:
            return []
        texts = tf.constant([sources[i] for i in lines])
        source_ids = self.translator.source_ids(self.translator.normalize(texts)).numpy()
        pieces = self.translator.target_tokenizer.tokenize(
            tf.constant([hypotheses[i] for i in lines])
        )
        bos = tf.RaggedTensor.from_tensor(tf.fill([pieces.nrows(), 1], BOS_ID))
        target_in = tf.concat([bos, pieces], axis=1).to_tensor(default_value=PAD_ID)
        weights = self._weights(tf.constant(source_ids), target_in).numpy()
        maps = []
        for row, line in enumerate(lines):
            src = [int(i) for i in source_ids[row] if i != PAD_ID]
            tgt = [int(i) for i in pieces[row].numpy()] + [EOS_ID]
            maps.append(
                AttentionMap(
                    line + 1,
                    _labels(self.source_pieces, src),
                    _labels(self.target_pieces, tgt),
                    weights[row, : len(tgt), : len(src)],
                )
            )
        return maps
