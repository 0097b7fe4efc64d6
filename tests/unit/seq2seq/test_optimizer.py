"""Adam on gradients the step summed over replicas: clipped by their global norm."""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from seq2seq.checkpointing import variables_by_path
from seq2seq.config import TrainConfig
from seq2seq.optimizer import SummedGradientsAdam, make_optimizer, summed_over_replicas


def test_one_replica_updates_like_keras_adam_with_clipping() -> None:
    """With one replica the summed gradient is the gradient; the update (clipped: norm 50 > 5)
    equals Keras's own Adam's, and a missing gradient stays missing."""
    strategy = tf.distribute.OneDeviceStrategy("/cpu:0")
    start = np.array([1.0, -2.0, 3.0], np.float32)
    grads = tf.constant([30.0, -40.0, 0.0])
    with strategy.scope():
        ours = [keras.Variable(start), keras.Variable(start)]
        theirs = keras.Variable(start)
        optimizer = make_optimizer(TrainConfig(clip_norm=5.0), tf.Variable(1.0))
        reference = keras.optimizers.Adam(learning_rate=1e-3, global_clipnorm=5.0)

    @tf.function
    def step() -> None:
        def replica() -> None:
            summed = summed_over_replicas([grads, None])
            assert summed[1] is None
            optimizer.apply_gradients([(summed[0], ours[0])])
            reference.apply_gradients([(grads, theirs)])

        strategy.run(replica)

    for _ in range(3):
        step()
    assert isinstance(optimizer, SummedGradientsAdam)
    np.testing.assert_array_equal(ours[0].numpy(), theirs.numpy())
    assert not np.array_equal(ours[0].numpy(), start)


def test_loss_scaling_for_float16_only() -> None:
    scale = tf.Variable(1.0)
    mixed = make_optimizer(TrainConfig(precision="mixed_float16"), scale)
    assert isinstance(mixed, keras.optimizers.LossScaleOptimizer)
    assert isinstance(mixed.inner_optimizer, SummedGradientsAdam)
    assert isinstance(
        make_optimizer(TrainConfig(precision="mixed_bfloat16"), scale), SummedGradientsAdam
    )


def test_every_optimizer_of_a_process_has_the_same_checkpoint_keys() -> None:
    """Keras numbers unnamed optimizers (``adam_1``, ``adam_2``); the checkpoint keys are the
    variables' paths, so a numbered second optimizer in one process could neither resume the
    first one's checkpoints nor be resumed by a new process. With loss scaling too."""
    for precision in ("mixed_bfloat16", "mixed_float16"):
        config = TrainConfig(precision=precision)
        keys = []
        for _ in range(3):
            variable = keras.Variable(np.zeros(2, np.float32), name="weight")
            optimizer = make_optimizer(config, tf.Variable(1.0))
            optimizer.build([variable])
            keys.append(sorted(variables_by_path(optimizer.variables)))
        assert keys[0] == keys[1] == keys[2]
        assert keys[0]
