"""The optimizer of training: Adam with warmup and decay, clipping by the global norm of the
gradient summed over every replica, and loss scaling for float16.

Keras 3 clips (and checks loss-scaled gradients for overflow) before it sums each replica's
gradient, so with several replicas it would clip every share on its own, and replicas could
disagree about skipping a step. Here the training step sums the gradients itself
(``summed_over_replicas``) and the optimizer takes them as they are: clipping and loss scaling
see the gradient of the whole global batch, as with one replica, and it is summed only once.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import keras
import tensorflow as tf

from seq2seq.config import TrainConfig
from seq2seq.schedules import LearningRate

# The optimizers' fixed names (Keras would number a second instance in a process).
OPTIMIZER_NAME = "summed_gradients_adam"
LOSS_SCALE_NAME = "loss_scale_optimizer"


class SummedGradientsAdam(keras.optimizers.Adam):
    """Adam for gradients already summed over replicas by the caller."""

    def _all_reduce_sum_gradients(self, grads_and_vars: Any) -> list[Any]:
        return list(grads_and_vars)


def make_optimizer(config: TrainConfig, lr_scale: tf.Variable) -> keras.optimizers.Optimizer:
    """Adam on the ``LearningRate`` schedule (``lr_scale``: the plateau decay's factor),
    wrapped in dynamic loss scaling for ``mixed_float16``."""
    schedule = LearningRate(
        config.learning_rate, config.warmup_steps, config.lr_decay, lr_scale, config.max_steps
    )
    clip = config.clip_norm if config.clip_norm > 0 else None
    # Named, so that Keras does not number it: its variables' paths (the checkpoint's keys)
    # are the same for every optimizer a process builds (a second training in one process,
    # as `nmt ensemble` runs, resumes the checkpoints of the first and vice versa).
    optimizer = SummedGradientsAdam(
        learning_rate=schedule,
        epsilon=config.adam_epsilon,
        global_clipnorm=clip,
        name=OPTIMIZER_NAME,
    )
    if config.precision == "mixed_float16":  # bfloat16 has float32's range
        return keras.optimizers.LossScaleOptimizer(optimizer, name=LOSS_SCALE_NAME)
    return optimizer


def summed_over_replicas(grads: Sequence[Any]) -> list[Any]:
    """Each gradient summed over all replicas (in a replica context; ``None`` stays)."""
    present = [g for g in grads if g is not None]
    if not present:
        return list(grads)
    summed = iter(
        tf.distribute.get_replica_context().all_reduce(tf.distribute.ReduceOp.SUM, present)
    )
    return [None if g is None else next(summed) for g in grads]
