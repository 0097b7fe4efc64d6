"""The training loop: teacher forcing, Adam with warmup, clipping, checkpoints, dev loss."""

from __future__ import annotations

import json
import logging
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import keras
import tensorflow as tf
from tqdm import tqdm

from seq2seq.artifacts import RunLayout
from seq2seq.checkpointing import model_checkpoint, restore
from seq2seq.config import ModelConfig, TrainConfig
from seq2seq.data import make_dataset, split_files
from seq2seq.losses import smoothed_cross_entropy
from seq2seq.model import Seq2Seq
from seq2seq.vocabulary import vocab_size

log = logging.getLogger("seq2seq")
_BATCH_SPEC = (
    (tf.TensorSpec([None, None], tf.int32), tf.TensorSpec([None, None], tf.int32)),
    tf.TensorSpec([None, None], tf.int32),
)


@dataclass(frozen=True)
class TrainResult:
    """What a finished training run reports."""

    steps: int
    epochs: int
    best_dev_loss: float
    target_tokens_per_second: float


class WarmupSchedule(keras.optimizers.schedules.LearningRateSchedule):
    """Linear warmup to the base rate over ``warmup_steps``, then constant."""

    def __init__(self, rate: float, warmup_steps: int) -> None:
        self.rate = rate
        self.warmup_steps = warmup_steps

    def __call__(self, step: tf.Tensor) -> tf.Tensor:
        step = tf.cast(step, tf.float32) + 1.0
        warm = tf.minimum(1.0, step / float(max(self.warmup_steps, 1)))
        return self.rate * warm

    def get_config(self) -> dict[str, float | int]:
        return {"rate": self.rate, "warmup_steps": self.warmup_steps}


def build_model(config: ModelConfig, layout: RunLayout) -> Seq2Seq:
    """The model for this run's vocabularies, with every variable created."""
    model = Seq2Seq.from_section(
        config, vocab_size(layout.source_spm), vocab_size(layout.target_spm)
    )
    model.build_variables()
    return model


class Trainer:
    """Owns the model, optimizer and checkpoints of one run."""

    def __init__(self, model_config: ModelConfig, config: TrainConfig, layout: RunLayout):
        keras.utils.set_random_seed(config.seed)
        self.config = config
        self.layout = layout
        self.model = build_model(model_config, layout)
        self.optimizer = keras.optimizers.Adam(
            learning_rate=WarmupSchedule(config.learning_rate, config.warmup_steps),
            global_clipnorm=config.clip_norm if config.clip_norm > 0 else None,
        )
        self.optimizer.build(self.model.trainable_variables)
        self.epoch = tf.Variable(0, dtype=tf.int64, trainable=False, name="epoch")
        self.best_dev_loss = tf.Variable(float("inf"), trainable=False, name="best_dev_loss")
        self.checkpoint = model_checkpoint(
            self.model, self.optimizer, epoch=self.epoch, best_dev_loss=self.best_dev_loss
        )
        self.manager = tf.train.CheckpointManager(
            self.checkpoint, str(layout.checkpoints), max_to_keep=config.keep_checkpoints
        )
        if self.manager.latest_checkpoint:
            restore(self.checkpoint, self.manager.latest_checkpoint)
            log.info("resumed from %s", self.manager.latest_checkpoint)
        self._train_step = tf.function(self._step, input_signature=_BATCH_SPEC)
        self._dev_step = tf.function(self._loss, input_signature=_BATCH_SPEC)

    @property
    def step(self) -> int:
        return int(self.optimizer.iterations.numpy())

    def _loss(
        self, inputs: tuple[tf.Tensor, tf.Tensor], target_out: tf.Tensor, training: bool = False
    ) -> tuple[tf.Tensor, tf.Tensor]:
        logits = self.model(inputs, training=training)
        return smoothed_cross_entropy(logits, target_out, self.config.label_smoothing)

    def _step(
        self, inputs: tuple[tf.Tensor, tf.Tensor], target_out: tf.Tensor
    ) -> tuple[tf.Tensor, tf.Tensor]:
        with tf.GradientTape() as tape:
            total, tokens = self._loss(inputs, target_out, training=True)
            loss = total / tf.maximum(tokens, 1.0)
        grads = tape.gradient(loss, self.model.trainable_variables)
        self.optimizer.apply_gradients(zip(grads, self.model.trainable_variables, strict=True))
        return loss, tokens

    def dev_loss(self) -> float:
        """Mean per-token loss over the dev split."""
        files = split_files(self.layout.data, "dev")
        total, tokens = 0.0, 0.0
        for inputs, target_out in make_dataset(files, 128, self.config.max_length):
            batch_total, batch_tokens = self._dev_step(inputs, target_out)
            total += float(batch_total)
            tokens += float(batch_tokens)
        return total / max(tokens, 1.0)

    def _finished(self) -> bool:
        max_steps = self.config.max_steps
        return int(self.epoch.numpy()) >= self.config.epochs or (0 < max_steps <= self.step)

    def _run_epoch(self, files: list[str]) -> tuple[float, float]:
        """One pass over train; returns mean loss and target tokens/s."""
        epoch = int(self.epoch.numpy())
        dataset = make_dataset(
            files,
            self.config.batch_size,
            self.config.max_length,
            self.config.shuffle_buffer,
            self.config.seed + epoch,
        )
        losses, tokens, start = [], 0.0, time.perf_counter()
        bar = tqdm(
            dataset,
            desc=f"epoch {epoch + 1}/{self.config.epochs}",
            unit="batch",
            mininterval=1.0 if sys.stderr.isatty() else 30.0,
        )
        for inputs, target_out in bar:
            loss, batch_tokens = self._train_step(inputs, target_out)
            losses.append(float(loss))
            tokens += float(batch_tokens)
            rate = tokens / max(time.perf_counter() - start, 1e-9)
            bar.set_postfix(loss=f"{losses[-1]:.3f}", tok_s=f"{rate:.0f}")
            if self.step % self.config.checkpoint_every == 0:
                self.manager.save(checkpoint_number=self.step)
            if 0 < self.config.max_steps <= self.step:
                break
        bar.close()
        return sum(losses) / max(len(losses), 1), tokens / max(time.perf_counter() - start, 1e-9)

    def _record(self, entry: dict[str, float | int]) -> None:
        with self.layout.train_log.open("a", encoding="utf-8") as f:
            f.write(json.dumps(entry) + "\n")

    def train(self) -> TrainResult:
        """Train until ``epochs`` or ``max_steps``; keeps the best model by dev loss."""
        files = split_files(self.layout.data, "train")
        rate = 0.0
        try:
            while not self._finished():
                train_loss, rate = self._run_epoch(files)
                self.epoch.assign_add(1)
                dev = self.dev_loss()
                if dev < float(self.best_dev_loss.numpy()):
                    self.best_dev_loss.assign(dev)
                    model_checkpoint(self.model).write(str(self.layout.best_weights))
                entry = {
                    "step": self.step,
                    "epoch": int(self.epoch.numpy()),
                    "train_loss": train_loss,
                    "dev_loss": dev,
                    "tokens_per_second": rate,
                }
                self._record(entry)
                log.info(
                    "epoch %(epoch)d step %(step)d: train loss %(train_loss).4f, "
                    "dev loss %(dev_loss).4f, %(tokens_per_second).0f target tokens/s",
                    entry,
                )
                self.manager.save(checkpoint_number=self.step)
        except KeyboardInterrupt:
            self.manager.save(checkpoint_number=self.step)
            log.warning("interrupted: checkpoint saved at step %d", self.step)
            raise
        return TrainResult(
            self.step, int(self.epoch.numpy()), float(self.best_dev_loss.numpy()), rate
        )


def restore_best(model_config: ModelConfig, layout: RunLayout) -> Seq2Seq:
    """The model with the best dev loss of a finished run."""
    if not Path(str(layout.best_weights) + ".index").exists():
        raise FileNotFoundError(f"{layout.best_weights}: no trained model; run train first")
    model = build_model(model_config, layout)
    restore(model_checkpoint(model), str(layout.best_weights))
    return model
