"""What a resumed run needs to continue as if it had never stopped: the counters saved with
every checkpoint, dropout seeds that follow the step, and a validation log cut back to the
checkpoint it resumes from."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import keras
import tensorflow as tf

from seq2seq.checkpointing import is_rng_state
from seq2seq.config import TrainConfig


class TrainingState(tf.Module):
    """Counters saved with every checkpoint so that a resumed run continues exactly.

    ``validated_step`` is the step of the last validation whose effects (best score, patience,
    learning-rate scale) the state holds; -1 before the first.
    """

    # What a validation decides, which the chief shares with the other workers.
    DECIDED = (
        "best_score",
        "best_dev_loss",
        "bad_validations",
        "plateau_count",
        "lr_scale",
        "stopped_early",
        "validated_step",
    )

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
        self.validated_step = tf.Variable(-1, dtype=tf.int64, trainable=False)

    def record_validation(self, step: int, loss: float, score: float, config: TrainConfig) -> bool:
        """Take in the validation at ``step`` (dev ``loss``, ``score``: higher is better):
        patience, decay on plateau, early stopping. Returns whether the score is a new best."""
        self.best_dev_loss.assign(min(float(self.best_dev_loss.numpy()), loss))
        improved = score > float(self.best_score.numpy())
        if improved:
            self.best_score.assign(score)
            self.bad_validations.assign(0)
            self.plateau_count.assign(0)
        else:
            self.bad_validations.assign_add(1)
            self.plateau_count.assign_add(1)
        if config.lr_decay == "plateau" and self.plateau_count >= config.decay_patience:
            self.lr_scale.assign(self.lr_scale * config.decay_factor)
            self.plateau_count.assign(0)
        if 0 < config.patience <= int(self.bad_validations.numpy()):
            self.stopped_early.assign(True)
        self.validated_step.assign(step)
        return improved

    def decided(self) -> list[float]:
        """The values of ``DECIDED``, in order (exact in float64 for every count and flag)."""
        return [float(getattr(self, name).numpy()) for name in self.DECIDED]

    def take_decided(self, values: list[float]) -> None:
        """Set ``DECIDED`` to ``values`` (as another worker's ``decided`` gave them)."""
        for name, value in zip(self.DECIDED, values, strict=True):
            variable = getattr(self, name)
            variable.assign(tf.cast(value, variable.dtype))


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


def drop_log_entries_after(log: Path, step: int) -> int:
    """Remove the entries of ``log`` (JSON lines) past ``step``: validations whose effects the
    resumed state does not hold, and which the resumed run repeats. Returns how many."""
    if not log.is_file():
        return 0
    lines = log.read_text(encoding="utf-8").splitlines(keepends=True)
    kept = [line for line in lines if _entry_step(line) <= step]
    if len(kept) < len(lines):
        partial = log.with_name(log.name + ".partial")
        partial.write_text("".join(kept), encoding="utf-8")
        os.replace(partial, log)
    return len(lines) - len(kept)


def _entry_step(line: str) -> int:
    """The step of a log line; a line that is not a JSON object with a step (a write cut off
    by a kill) counts as past every step, so it is dropped."""
    try:
        entry: Any = json.loads(line)
    except json.JSONDecodeError:
        return 2**62
    step = entry.get("step") if isinstance(entry, dict) else None
    return step if isinstance(step, int) else 2**62
