"""Learning-rate schedule: linear warmup, then constant or inverse-square-root decay,
times a scale that decay-on-plateau lowers."""

from __future__ import annotations

import keras
import tensorflow as tf


class LearningRate(keras.optimizers.schedules.LearningRateSchedule):
    """``rate * warmup(step) * decay(step) * scale``.

    ``warmup`` rises linearly to 1 over ``warmup_steps``; ``decay`` is 1, or
    ``sqrt(warmup_steps / step)`` after warmup for ``inverse_sqrt``; ``scale``
    is a variable that plateau decay multiplies by its factor.
    """

    def __init__(self, rate: float, warmup_steps: int, decay: str, scale: tf.Variable) -> None:
        if decay not in ("none", "inverse_sqrt", "plateau"):
            raise ValueError(f"unknown decay {decay!r}; valid options: none, inverse_sqrt, plateau")
        self.rate = rate
        self.warmup_steps = max(warmup_steps, 1)
        self.decay = decay
        self.scale = scale

    def __call__(self, step: tf.Tensor) -> tf.Tensor:
        step = tf.cast(step, tf.float32) + 1.0
        warm = tf.minimum(1.0, step / float(self.warmup_steps))
        factor = tf.constant(1.0)
        if self.decay == "inverse_sqrt":
            factor = tf.minimum(1.0, tf.sqrt(float(self.warmup_steps) / step))
        return self.rate * warm * factor * tf.cast(self.scale, tf.float32)

    def get_config(self) -> dict[str, float | int | str]:
        return {"rate": self.rate, "warmup_steps": self.warmup_steps, "decay": self.decay}
