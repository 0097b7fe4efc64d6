"""Learning-rate schedule: linear warmup, then constant, inverse-square-root or cosine decay,
times a scale that decay-on-plateau lowers."""

from __future__ import annotations

import math

import keras
import tensorflow as tf

from seq2seq.config import LR_DECAYS


class LearningRate(keras.optimizers.schedules.LearningRateSchedule):
    """``rate * warmup(step) * decay(step) * scale``.

    ``warmup`` rises linearly to 1 over ``warmup_steps``; ``decay`` is 1, or
    ``sqrt(warmup_steps / step)`` after warmup for ``inverse_sqrt``, or for ``cosine`` half a
    cosine from 1 after warmup to 0 at ``total_steps`` (the run's update budget); ``scale``
    is a variable that plateau decay multiplies by its factor.
    """

    def __init__(
        self,
        rate: float,
        warmup_steps: int,
        decay: str,
        scale: tf.Variable,
        total_steps: int = 0,
    ) -> None:
        if decay not in LR_DECAYS:
            raise ValueError(f"unknown decay {decay!r}; valid options: {', '.join(LR_DECAYS)}")
        if decay == "cosine" and total_steps <= warmup_steps:
            raise ValueError(
                f"cosine decay needs total_steps ({total_steps}) > warmup_steps ({warmup_steps})"
            )
        self.rate = rate
        self.warmup_steps = max(warmup_steps, 1)
        self.decay = decay
        self.scale = scale
        self.total_steps = total_steps

    def __call__(self, step: tf.Tensor) -> tf.Tensor:
        step = tf.cast(step, tf.float32) + 1.0
        warm = tf.minimum(1.0, step / float(self.warmup_steps))
        factor = tf.constant(1.0)
        if self.decay == "inverse_sqrt":
            factor = tf.minimum(1.0, tf.sqrt(float(self.warmup_steps) / step))
        elif self.decay == "cosine":
            span = float(self.total_steps - self.warmup_steps)
            done = tf.clip_by_value((step - float(self.warmup_steps)) / span, 0.0, 1.0)
            factor = 0.5 * (1.0 + tf.cos(math.pi * done))
        return self.rate * warm * factor * tf.cast(self.scale, tf.float32)

    def get_config(self) -> dict[str, float | int | str]:
        return {
            "rate": self.rate,
            "warmup_steps": self.warmup_steps,
            "decay": self.decay,
            "total_steps": self.total_steps,
        }
