"""The benchmarks' count of weights per piece agrees with the model's own variables."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from seq2seq.config import ModelConfig
from seq2seq.model import Seq2Seq

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "benchmarks"))
from compute import PieceWeights, weights_per_piece

VOCAB = 30


def _size(variable: object) -> int:
    return int(np.prod(variable.shape))  # type: ignore[attr-defined]


def counted_from_variables(model: Seq2Seq) -> PieceWeights:
    """Kernels each source piece and each decoder step multiply, read off the built model."""
    encoder, decoder = model.encoder, model.decoder
    cells = [*encoder.forward_cells, *encoder.backward_cells]
    source = sum(_size(c.kernel) + _size(c.recurrent_kernel) for c in cells)
    attention = decoder.attention
    if attention.key_projection is not None:
        source += _size(attention.key_projection.kernel)
    target = sum(_size(c.kernel) + _size(c.recurrent_kernel) for c in decoder.cells)
    target += _size(decoder.combine.kernel)
    if hasattr(attention, "query_projection"):
        target += _size(attention.query_projection.kernel)
    output = decoder.output_projection
    if decoder.tie_embeddings:
        target += _size(output.embedding.embeddings) + _size(output.to_embedding.kernel)
    else:
        target += _size(output.kernel)
    return PieceWeights(source=source, target=target)


@pytest.mark.parametrize(
    "model",
    [
        ModelConfig(),
        ModelConfig(cell="gru", bidirectional=False, luong_score="dot", input_feeding=False),
        ModelConfig(attention="bahdanau", encoder_layers=2, decoder_layers=2),
        ModelConfig(embedding_size=16, units=24, tie_target_embeddings=True),
    ],
    ids=["default", "gru-dot", "bahdanau-2-layers", "tied"],
)
def test_weights_per_piece_match_the_models_kernels(model: ModelConfig) -> None:
    built = Seq2Seq.from_section(model, VOCAB, VOCAB)
    built.build_variables()
    assert weights_per_piece(model, VOCAB) == counted_from_variables(built)
