"""Averaged weights: the mean of checkpoints and the exponential moving average."""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf

from seq2seq.checkpointing import model_checkpoint
from seq2seq.model import Seq2Seq
from seq2seq.weight_average import ExponentialAverage, average_checkpoints, last_checkpoints


def build(seed: int) -> Seq2Seq:
    keras.utils.set_random_seed(seed)
    model = Seq2Seq(20, 22, embedding_size=6, units=8, decoder_layers=2)
    model.build_variables()
    return model


def weights(model: Seq2Seq) -> list[np.ndarray]:
    return [w.numpy() for w in model.weights]


def saved(model: Seq2Seq, directory: Path, count: int) -> list[str]:
    manager = tf.train.CheckpointManager(model_checkpoint(model), str(directory), max_to_keep=9)
    return [manager.save(checkpoint_number=i) for i in range(count)]


def test_averaging_identical_checkpoints_gives_them_back_unchanged(tmp_path: Path) -> None:
    source = build(1)
    paths = saved(source, tmp_path, 3)
    target = build(2)
    average_checkpoints(target, paths)
    for got, want in zip(weights(target), weights(source), strict=True):
        np.testing.assert_array_equal(got, want)


def test_average_of_two_checkpoints_is_their_mean(tmp_path: Path) -> None:
    first, second = build(1), build(2)
    paths = [
        model_checkpoint(first).write(str(tmp_path / "a")),
        model_checkpoint(second).write(str(tmp_path / "b")),
    ]
    target = build(3)
    average_checkpoints(target, paths)
    for got, a, b in zip(weights(target), weights(first), weights(second), strict=True):
        np.testing.assert_allclose(got, (a.astype(np.float64) + b) / 2, rtol=1e-6, atol=1e-7)


def test_last_checkpoints_are_the_newest_and_must_exist(tmp_path: Path) -> None:
    paths = saved(build(1), tmp_path, 4)
    assert last_checkpoints(str(tmp_path), 2) == paths[-2:]
    with pytest.raises(FileNotFoundError, match="4 checkpoints, fewer than the 5"):
        last_checkpoints(str(tmp_path), 5)


def nudge(model: Seq2Seq, seed: int) -> None:
    """Change every trainable weight, as an update would."""
    rng = np.random.default_rng(seed)
    for w in model.trainable_variables:
        w.assign(w.numpy() + rng.normal(size=w.shape).astype(np.float32))


def test_an_average_with_decay_zero_equals_the_last_weights() -> None:
    model = build(1)
    ema = ExponentialAverage(model.trainable_variables, decay=0.0)
    for step in range(1, 4):
        nudge(model, step)
        ema.update(tf.constant(step))
    for variable, average in zip(model.trainable_variables, ema.averages.values(), strict=True):
        np.testing.assert_array_equal(average.numpy(), variable.numpy())


def test_the_average_moves_by_the_ramped_decay() -> None:
    """After update ``s`` the average moves by ``1 - min(decay, (1 + s) / (10 + s))``."""
    model = build(1)
    ema = ExponentialAverage(model.trainable_variables, decay=0.999)
    before = [a.numpy() for a in ema.averages.values()]
    nudge(model, 7)
    ema.update(tf.constant(20))
    decay = min(0.999, 21 / 30)
    for old, variable, average in zip(
        before, model.trainable_variables, ema.averages.values(), strict=True
    ):
        expected = decay * old + (1 - decay) * variable.numpy()
        np.testing.assert_allclose(average.numpy(), expected, rtol=1e-5, atol=1e-6)


def test_swapped_puts_the_averages_in_and_the_weights_back() -> None:
    model = build(1)
    ema = ExponentialAverage(model.trainable_variables, decay=0.5)
    own = weights(model)
    nudge(model, 3)
    nudged = weights(model)
    with pytest.raises(RuntimeError), ema.swapped():
        for got, want in zip(weights(model), own, strict=True):
            np.testing.assert_array_equal(got, want)  # the averages: still the first weights
        raise RuntimeError
    for got, want in zip(weights(model), nudged, strict=True):
        np.testing.assert_array_equal(got, want)
