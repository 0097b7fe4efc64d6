"""How much arithmetic the model needs, and how much this machine has.

``weights_per_piece`` counts the multiply-add weights one source piece and one target
piece pass through (a forward pass costs 2 FLOPs per weight used, training 6), and
``matmul_gflops`` measures the machine's sustained matmul rate in the same run, so the
benchmarks can set a measured speed against a ceiling.
"""

from __future__ import annotations

import time
from typing import NamedTuple

import tensorflow as tf

from seq2seq.config import ModelConfig


class PieceWeights(NamedTuple):
    """Weights used per source piece (encoder, attention keys) and per target row-step
    (decoder cells, attention query and combination, output layer). The attention's
    products with each source position (``2 * S * D`` per step) are not weights and are
    left out; at 256 units they add under 1% per step for sources of 20 pieces."""

    source: int
    target: int


def output_width(model: ModelConfig) -> int:
    """Rows of the output layer's matrix: the embedding size when tied, else the units."""
    return model.embedding_size if model.tie_target_embeddings else model.units


def weights_per_piece(model: ModelConfig, target_vocab: int) -> PieceWeights:
    """The weights of ``model`` that each source piece and each decoder step multiply."""
    gates = 4 if model.cell == "lstm" else 3
    directions = 2 if model.bidirectional else 1
    encoder, inputs = 0, model.embedding_size
    for _ in range(model.encoder_layers):
        encoder += directions * gates * model.units * (inputs + model.units)
        inputs = directions * model.units
    memory = inputs
    bahdanau = model.attention == "bahdanau"
    projected_keys = bahdanau or model.luong_score == "general"
    keys = model.units * memory if projected_keys else 0  # once per source piece
    decoder_in = model.embedding_size + (model.units if model.input_feeding else 0)
    decoder = gates * model.units * (decoder_in + model.units)
    decoder += (model.decoder_layers - 1) * gates * model.units * 2 * model.units
    decoder += model.units * (memory + model.units)  # combine [context; h]
    decoder += model.units * model.units if bahdanau else 0  # query projection
    tied = model.units * model.embedding_size if model.tie_target_embeddings else 0
    output = output_width(model) * target_vocab + tied
    return PieceWeights(source=encoder + keys, target=decoder + output)


def matmul_gflops(m: int, k: int, n: int, dtype: str = "float32", seconds: float = 3.0) -> float:
    """Sustained GFLOP/s of ``[m, k] x [k, n]`` matmuls in ``dtype``."""
    a = tf.cast(tf.random.normal([m, k]), dtype)
    b = tf.cast(tf.random.normal([k, n]), dtype)
    multiply = tf.function(lambda: tf.matmul(a, b))
    multiply()
    runs, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        multiply().numpy()
        runs += 1
    return 2.0 * m * k * n * runs / (time.perf_counter() - start) / 1e9
