"""Checkpoints and exports must carry every weight, stacked cells included."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

from seq2seq.checkpointing import model_checkpoint, restore, variables_by_path
from seq2seq.model import Seq2Seq


def build(seed: int) -> Seq2Seq:
    keras.utils.set_random_seed(seed)
    model = Seq2Seq(20, 22, embedding_size=6, units=8, encoder_layers=2, decoder_layers=2)
    model.build_variables()
    return model


def test_every_weight_round_trips(tmp_path: object) -> None:
    source, target = build(1), build(2)
    optimizer = keras.optimizers.Adam()
    optimizer.build(source.trainable_variables)
    path = model_checkpoint(source, optimizer).write(f"{tmp_path}/ckpt")
    restore(model_checkpoint(target), path)
    assert len(source.weights) == len(target.weights)
    for a, b in zip(source.weights, target.weights, strict=True):
        np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=a.path)
    saved = {name for name, _ in tf.train.list_variables(path)}
    assert any("cell_1" in name for name in saved)


def test_restore_fails_loudly_on_a_different_architecture(tmp_path: object) -> None:
    path = model_checkpoint(build(1)).write(f"{tmp_path}/ckpt")
    keras.utils.set_random_seed(0)
    other = Seq2Seq(20, 22, embedding_size=6, units=8, encoder_layers=3, decoder_layers=2)
    other.build_variables()
    with pytest.raises(AssertionError):
        restore(model_checkpoint(other), path)


def test_paths_are_unique_and_cover_every_weight() -> None:
    model = build(3)
    table = variables_by_path(model.variables, drop_root=True)
    weights = {id(v) for v in model.variables if "seed_generator" not in v.path}
    assert {id(v) for v in table.values()} == weights
    assert all(not key.startswith("seq2seq") for key in table)
