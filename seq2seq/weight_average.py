"""Averaged weights: an exponential moving average (EMA) kept during training, and the mean of
a run's last checkpoints.

Both give weights that usually translate better than the last update's: the EMA follows the
weights with a lag of about ``1 / (1 - decay)`` updates, the checkpoint mean smooths the last
stretch of training. Neither is assumed better: training and ``nmt average`` score them on the
dev split and keep whichever has the higher dev BLEU.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from seq2seq.checkpointing import model_checkpoint, restore, variables_by_path
from seq2seq.config import TrainConfig

# The EMA's decay ramps up as min(decay, (1 + step) / (10 + step)), as TensorFlow's
# ``ExponentialMovingAverage(num_updates=...)`` does: early weights change fast, and an
# average that still held the random initialisation would be useless for a long while.
_RAMP = 10.0


class ExponentialAverage:
    """An EMA of ``variables``: float32 copies in ``averages``, keyed like model checkpoints
    (checkpoint that dict to resume the average). Create it in the distribution strategy's
    scope, so that the averages are mirrored like the weights."""

    def __init__(self, variables: Sequence[Any], decay: float) -> None:
        table = variables_by_path(variables, drop_root=True)
        self._variables = list(table.values())
        self.decay = decay
        # Keyed as in model checkpoints, so a resumed run restores each average by name.
        self.averages = {
            key: tf.Variable(tf.convert_to_tensor(v), trainable=False, name=f"ema_{i}")
            for i, (key, v) in enumerate(table.items())
        }

    def restart(self) -> None:
        """Set every average to its variable's value (a run that starts from a parent)."""
        for variable, average in zip(self._variables, self.averages.values(), strict=True):
            average.assign(tf.cast(tf.convert_to_tensor(variable), average.dtype))

    def decay_at(self, step: tf.Tensor) -> tf.Tensor:
        """The decay applied after update number ``step`` (a scalar)."""
        step = tf.cast(step, tf.float32)
        return tf.minimum(tf.constant(self.decay, tf.float32), (1.0 + step) / (_RAMP + step))

    def update(self, step: tf.Tensor) -> None:
        """Move every average towards its variable's current value (after update ``step``;
        also inside a ``tf.function``, in cross-replica context)."""
        decay = self.decay_at(step)
        for variable, average in zip(self._variables, self.averages.values(), strict=True):
            value = tf.cast(tf.convert_to_tensor(variable), average.dtype)
            average.assign(decay * average + (1.0 - decay) * value)

    @contextmanager
    def swapped(self) -> Iterator[None]:
        """Within the block the model's variables hold the averages; afterwards their own
        values again (also when the block raises)."""
        own = [v.numpy() for v in self._variables]
        for variable, average in zip(self._variables, self.averages.values(), strict=True):
            variable.assign(tf.cast(average, variable.dtype))
        try:
            yield
        finally:
            for variable, value in zip(self._variables, own, strict=True):
                variable.assign(value)


def training_average(model: keras.Model, config: TrainConfig) -> ExponentialAverage | None:
    """The EMA of ``model``'s trainable weights if ``train.average.method`` is ``ema``."""
    if config.average.method != "ema":
        return None
    return ExponentialAverage(model.trainable_variables, config.average.ema_decay)


def average_checkpoints(model: keras.Model, paths: Sequence[str]) -> None:
    """Set ``model``'s weights to the element-wise mean of the checkpoints at ``paths`` (each
    holding the model's variables, as training's checkpoints do). The mean is taken in
    float64, so averaging identical checkpoints gives their weights back unchanged."""
    if not paths:
        raise ValueError("no checkpoints to average")
    checkpoint = model_checkpoint(model)
    variables = list(variables_by_path(model.variables, drop_root=True).values())
    sums = [np.zeros(v.shape, np.float64) for v in variables]
    for path in paths:
        restore(checkpoint, path)
        for total, variable in zip(sums, variables, strict=True):
            total += variable.numpy().astype(np.float64)
    for total, variable in zip(sums, variables, strict=True):
        variable.assign((total / len(paths)).astype(variable.dtype))


def last_checkpoints(directory: str, count: int) -> list[str]:
    """The newest ``count`` checkpoints of a training run's checkpoint folder, oldest first.
    Raises ``FileNotFoundError`` if it holds fewer."""
    state = tf.train.get_checkpoint_state(directory)
    paths = list(state.all_model_checkpoint_paths) if state else []
    if len(paths) < count:
        raise FileNotFoundError(
            f"{directory}: {len(paths)} checkpoints, fewer than the {count} to average "
            "(train.keep_checkpoints keeps that many)"
        )
    return paths[-count:]
