"""The model of a run: built for its vocabularies, or restored from its best checkpoint."""

from __future__ import annotations

import keras
import tensorflow as tf

from core.contract import RunLayout
from seq2seq.checkpointing import model_checkpoint, restore
from seq2seq.config import ModelConfig
from seq2seq.model import Seq2Seq
from seq2seq.vocabulary import vocab_size


def build_model(config: ModelConfig, layout: RunLayout, precision: str = "float32") -> Seq2Seq:
    """The model for this run's vocabularies, with every variable created (in float32;
    ``precision`` names the Keras dtype policy of the computation)."""
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(precision)
    try:
        model = Seq2Seq.from_section(
            config, vocab_size(layout.source_spm), vocab_size(layout.target_spm)
        )
        model.build_variables()
    finally:
        keras.config.set_dtype_policy(previous)
    return model


def restore_best(
    model_config: ModelConfig, layout: RunLayout, precision: str = "float32"
) -> Seq2Seq:
    """The model with the best dev score of a trained run; ``precision`` (``float32``,
    ``bfloat16`` or ``float16``) is the type of its weights and computation."""
    path = tf.train.latest_checkpoint(str(layout.best))
    if path is None:
        raise FileNotFoundError(f"{layout.best}: no trained model; run train first")
    model = build_model(model_config, layout)
    restore(model_checkpoint(model), path)
    if precision == "float32":
        return model
    lowered = build_model(model_config, layout, precision)
    lowered.set_weights(model.get_weights())  # same build order; cast to ``precision``
    return lowered
