"""What a resumed run needs to continue as if it had never stopped: the counters saved with
every checkpoint and dropout seeds that follow the step."""

from __future__ import annotations

import keras
import tensorflow as tf

from seq2seq.checkpointing import is_rng_state


class TrainingState(tf.Module):
    """Counters saved with every checkpoint so that a resumed run continues exactly."""

    def __init__(self) -> None:
        super().__init__(name="training_state")
        self.epoch = tf.Variable(0, dtype=tf.int64, trainable=False)
        self.batch_in_epoch = tf.Variable(0, dtype=tf.int64, trainable=False)
        self.best_score = tf.Variable(float("-inf"), trainable=False)
        self.best_dev_loss = tf.Variable(float("inf"), trainable=False)
        self.bad_validations = tf.Variable(0, dtype=tf.int64, trainable=False)
        self.plateau_count = tf.Variable(0, dtype=tf.int64, trainable=False)
        self.lr_scale = tf.Variable(1.0, trainable=False)
        self.stopped_early = tf.Variable(False, trainable=False)


class StepSeeds:
    """Dropout randomness as a function of the run's seed and the step alone.

    Keras draws dropout masks from the state of each layer's seed generator, which advances
    with every draw and is not checkpointed. Before every update, ``reseed`` sets each state to
    its initial value (drawn from the run's seed when the model was built) folded with the
    step, so the masks of step ``s`` are the same in a run resumed at any earlier step.
    """

    def __init__(self, model: keras.Model) -> None:
        self._states = [v for v in model.variables if is_rng_state(v)]
        self._initial = [tf.constant(v.numpy()) for v in self._states]

    def reseed(self, step: tf.Tensor) -> None:
        """Seed every dropout layer for update number ``step`` (also inside a tf.function)."""
        for state, initial in zip(self._states, self._initial, strict=True):
            state.assign(tf.random.experimental.stateless_fold_in(initial, step))
