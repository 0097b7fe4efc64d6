"""The training loop: teacher forcing, Adam with warmup and decay, clipping, validation by dev
loss and BLEU, early stopping, resumable checkpoints, optional tf.distribute and mixed precision.

With several workers (``MultiWorkerMirroredStrategy``) every worker runs this loop in step:
each trains on its own batches of every global step, only the chief validates and writes what
users read (checkpoints, best model, log, TensorBoard), and what the chief decides (validation's
effects, its wall-clock budget) reaches the others at the same step, so all stop together.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import asdict, dataclass
from typing import Any

import keras
import numpy as np
import tensorflow as tf
from tqdm import tqdm

from core.contract import PAD_ID, RunLayout
from seq2seq.checkpointing import model_checkpoint, restore
from seq2seq.cluster import WorkerLostError, global_batch, this_worker
from seq2seq.config import ModelConfig, TrainConfig
from seq2seq.data import ReplicaShard, make_dataset, train_files
from seq2seq.dev_scores import (
    DevText,
    TranslateFn,
    dev_batches,
    dev_bleu,
    dev_loss,
    ema_fields,
    validation_score,
    write_validation,
)
from seq2seq.distribution import ChiefValues, make_strategy
from seq2seq.losses import token_losses
from seq2seq.model import Seq2Seq
from seq2seq.optimizer import make_optimizer, summed_over_replicas
from seq2seq.parent_weights import ParentWeights, load_parent, write_record
from seq2seq.resume import StepSeeds, TrainingState, drop_log_entries_after
from seq2seq.run_models import build_model
from seq2seq.weight_average import ExponentialAverage, training_average
from seq2seq.worker_checkpoints import WorkerCheckpoints

log = logging.getLogger("seq2seq")
SUM = tf.distribute.ReduceOp.SUM
# How a collective operation fails when a peer worker died or cannot be reached.
LOST_WORKER = (tf.errors.UnavailableError, tf.errors.DeadlineExceededError)


@dataclass(frozen=True)
class TrainResult:
    """What a finished training run reports."""

    steps: int
    epochs: int
    best_dev_loss: float
    best_dev_bleu: float | None
    target_tokens_per_second: float
    stopped_early: bool


class Trainer:
    """Owns the model, optimizer, checkpoints and validation of one run."""

    def __init__(
        self,
        model_config: ModelConfig,
        config: TrainConfig,
        layout: RunLayout,
        dev_text: DevText | None = None,
        translate_factory: Callable[[Seq2Seq], TranslateFn] | None = None,
        parent: ParentWeights | None = None,
    ) -> None:
        """``parent``: the weights a run without checkpoints of its own starts from."""
        self.strategy = make_strategy(config.distribution)  # first: see make_strategy
        self.worker = this_worker(config.distribution)
        self._from_chief = ChiefValues(self.strategy)
        keras.utils.set_random_seed(config.seed)
        self.config, self.layout, self.dev_text = config, layout, dev_text
        self._loss_scaling = config.precision == "mixed_float16"  # bfloat16 has float32's range
        with self.strategy.scope():
            self.model = build_model(model_config, layout, config.precision)
            self.state = TrainingState()
            self.optimizer = make_optimizer(config, self.state.lr_scale)
            self.optimizer.build(self.model.trainable_variables)
            self._step_seeds = StepSeeds(self.model)
            self.ema = training_average(self.model, config)
        chief = self.worker.is_chief
        averages = {"ema_variables": self.ema.averages} if self.ema else {}
        self.checkpoint = model_checkpoint(self.model, self.optimizer, state=self.state, **averages)
        self.manager = WorkerCheckpoints(
            self.checkpoint, layout.checkpoints, config.keep_checkpoints, chief
        )
        self.best = WorkerCheckpoints(model_checkpoint(self.model), layout.best, 1, chief)
        self._resume(parent)
        use_bleu = config.dev_bleu and dev_text is not None and translate_factory is not None
        self._uses_bleu = use_bleu
        chief_bleu = use_bleu and chief  # only the chief validates
        self.translate = translate_factory(self.model) if chief_bleu and translate_factory else None
        self.writer = (
            tf.summary.create_file_writer(str(layout.tensorboard))
            if config.tensorboard and chief
            else None
        )
        log.info(global_batch(self.worker, self.strategy.num_replicas_in_sync, config))
        self._train_step: Callable[..., tf.Tensor] | None = None  # traced at the first epoch
        self._dev_step: Callable[..., tuple[tf.Tensor, tf.Tensor]] | None = None  # and validation
        self._recent: list[float] = []
        self._chief_out_of_time = False
        self._rate = 0.0
        self._started = time.monotonic()

    def _resume(self, parent: ParentWeights | None) -> None:
        """Every worker restores the chief's newest checkpoint, if there is one, else starts
        from ``parent``'s weights, if any (the chief records it in ``parent.json``, or removes
        the record of an earlier start)."""
        latest = self.manager.latest
        if latest:
            restore(self.checkpoint, latest)
            log.info("resumed from %s at step %d", latest, self.step)
            if self.worker.is_chief:
                drop_log_entries_after(self.layout.train_log, self._validated_step)
        elif parent is not None:
            record = load_parent(parent, self.model, self.optimizer, self.state)
            if self.ema is not None:
                self.ema.restart()
            if self.worker.is_chief:
                write_record(self.layout.parent, record)
            kept = ", ".join(parent.keep) or "nothing else"
            log.info("started from the parent %s (kept: %s)", record["checkpoint"], kept)
        elif self.worker.is_chief:
            self.layout.parent.unlink(missing_ok=True)  # a start from random weights

    @property
    def step(self) -> int:
        return int(self.optimizer.iterations.numpy())

    def _loss(
        self, inputs: tuple[tf.Tensor, tf.Tensor], target_out: tf.Tensor, training: bool = False
    ) -> tuple[tf.Tensor, tf.Tensor]:
        """Summed loss over the real target tokens of a batch, and their count."""
        logits, labels = self.model.real_token_logits(inputs, target_out, training=training)
        losses = token_losses(logits, labels, self.config.label_smoothing)
        real = tf.cast(tf.not_equal(labels, PAD_ID), tf.float32)  # filler rows: 0
        return tf.reduce_sum(losses * real), tf.reduce_sum(real)

    def _replica_step(
        self, inputs: tuple[tf.Tensor, tf.Tensor], target_out: tf.Tensor
    ) -> tuple[tf.Tensor, tf.Tensor]:
        variables = self.model.trainable_variables
        with tf.GradientTape() as tape:
            total, tokens = self._loss(inputs, target_out, training=True)
            all_tokens = tf.distribute.get_replica_context().all_reduce(SUM, tokens)
            loss = total / tf.maximum(all_tokens, 1.0)
            scaled = self.optimizer.scale_loss(loss) if self._loss_scaling else loss
        grads = summed_over_replicas(tape.gradient(scaled, variables))
        self.optimizer.apply_gradients(zip(grads, variables, strict=True))
        return loss, tokens

    def _distributed_step(self, inputs: Any, target_out: Any, stop: tf.Tensor) -> tf.Tensor:
        """One update on the global batch; returns ``[loss, target tokens, stop]`` summed over
        replicas, where ``stop`` is the chief's (global replica 0's) flag alone."""
        self._step_seeds.reseed(self.optimizer.iterations)

        def replica(inputs: Any, target_out: Any) -> tf.Tensor:
            loss, tokens = self._replica_step(inputs, target_out)
            first = tf.distribute.get_replica_context().replica_id_in_sync_group == 0
            return tf.stack([loss, tokens, tf.where(first, stop, 0.0)])

        per_replica = self.strategy.run(replica, args=(inputs, target_out))
        if self.ema is not None:
            self.ema.update(self.optimizer.iterations)
        return self.strategy.reduce(SUM, per_replica, None)

    def _out_of_time(self) -> bool:
        budget = self.config.max_minutes * 60.0
        return 0 < budget <= time.monotonic() - self._started

    def _done(self) -> bool:
        """Whether training is over; the same answer on every worker at every step."""
        max_steps = self.config.max_steps
        return (
            int(self.state.epoch.numpy()) >= self.config.epochs
            or 0 < max_steps <= self.step
            or bool(self.state.stopped_early.numpy())
            or self._chief_out_of_time  # shared by the last step
            or (self.worker.count == 1 and self._out_of_time())
        )

    def _worker_batches(self, context: tf.distribute.InputContext) -> tf.data.Dataset:
        """This worker's batches of the rest of the epoch: one per local replica and step."""
        local = context.num_replicas_in_sync // context.num_input_pipelines
        shard = ReplicaShard(context.num_replicas_in_sync, context.input_pipeline_id * local, local)
        return make_dataset(
            train_files(self.layout.data, int(self.state.epoch.numpy())),
            self.config.batch_size,
            self.config.max_length,
            self.config.shuffle_buffer,
            self.config.seed,
            self.config.batch_unit,
            skip_batches=int(self.state.batch_in_epoch.numpy()),
            epoch=int(self.state.epoch.numpy()),
            shard=shard,
        )

    def _epoch_batches(self) -> tuple[Any, Callable[..., tf.Tensor]]:
        """The rest of the epoch's batches, shown as a progress bar, and the update step."""
        epoch = int(self.state.epoch.numpy())
        batches = self.strategy.distribute_datasets_from_function(self._worker_batches)
        if self._train_step is None:
            # One graph for batches of every shape, traced from the batches' element spec
            # ([None, None] ids): reduce_retracing would trace it up to three times.
            signature = (*batches.element_spec, tf.TensorSpec([], tf.float32))
            self._train_step = tf.function(self._distributed_step, input_signature=signature)
        bar = tqdm(
            batches,
            desc=f"epoch {epoch + 1}/{self.config.epochs}",
            unit="batch",
            initial=int(self.state.batch_in_epoch.numpy()),
            mininterval=1.0 if sys.stderr.isatty() else 30.0,
        )
        return bar, self._train_step

    def _after_step(self, loss: float) -> bool:
        """Bookkeeping after one update; returns True when training must stop now."""
        self.state.batch_in_epoch.assign_add(1)
        self._recent.append(loss)
        step, config = self.step, self.config
        if self.writer is not None and step % 50 == 0:
            with self.writer.as_default(step=step):
                tf.summary.scalar("train/loss", loss)
                tf.summary.scalar("train/learning_rate", self._learning_rate())
        if step % config.checkpoint_every == 0:
            self.manager.save(step)
        if config.validate_every > 0 and step % config.validate_every == 0:
            self.validate()
        return self._done()

    def _run_epoch(self) -> None:
        tokens, start = 0.0, time.perf_counter()
        bar, update = self._epoch_batches()
        for inputs, target_out in bar:
            stop = 1.0 if self.worker.is_chief and self._out_of_time() else 0.0
            loss, batch_tokens, chief_stop = update(inputs, target_out, tf.constant(stop)).numpy()
            self._chief_out_of_time = bool(chief_stop)
            tokens += float(batch_tokens)
            self._rate = tokens / max(time.perf_counter() - start, 1e-9)
            bar.set_postfix(loss=f"{float(loss):.3f}", tok_s=f"{self._rate:.0f}", refresh=False)
            if self._after_step(float(loss)):
                bar.close()
                return
        bar.close()
        self.state.epoch.assign_add(1)
        self.state.batch_in_epoch.assign(0)
        if self.config.validate_every <= 0:
            self.validate()
        self.manager.save(self.step)

    @property
    def _validated_step(self) -> int:
        return int(self.state.validated_step.numpy())

    def _validation_due(self) -> bool:
        """Whether the validation due at this step has not run: a run killed after the
        checkpoint at a validation step and before that validation completed resumes here."""
        step, every = self.step, self.config.validate_every
        if step == 0 or self._validated_step == step:
            return False
        if every > 0:
            return step % every == 0
        return int(self.state.batch_in_epoch.numpy()) == 0  # an epoch ended at this step

    def _learning_rate(self) -> float:
        schedule = self.optimizer.learning_rate
        return float(schedule(self.optimizer.iterations) if callable(schedule) else schedule)

    def validate(self) -> dict[str, Any] | None:
        """Dev loss and BLEU on the chief (with an EMA, of the raw and the averaged weights,
        keeping whichever scores higher); keeps the best model, lowers the rate on plateau,
        stops early. Every worker calls it at the same step and takes the chief's decisions.
        Returns the log entry (``None`` on other workers)."""
        chief = self.worker.is_chief
        scores = self._dev_scores() if chief else (0.0, None)
        averaged = self._averaged_dev_scores(self.ema) if chief and self.ema else None
        use_ema = averaged is not None and validation_score(*averaged) > validation_score(*scores)
        kept = averaged if averaged is not None and use_ema else scores
        improved = chief and self.state.record_validation(
            self.step, kept[0], float(np.float32(validation_score(*kept))), self.config
        )
        shared = self._from_chief([float(improved), float(use_ema), *self.state.decided()])
        self.state.take_decided(shared[2:])
        if shared[0]:
            with self.ema.swapped() if self.ema and shared[1] else nullcontext():
                self.best.save(self.step)
        if not chief:
            return None
        extra = {} if averaged is None else ema_fields(averaged, use_ema)
        return self._log_validation(*scores, extra)

    def _averaged_dev_scores(self, ema: ExponentialAverage) -> tuple[float, float | None]:
        """Dev loss and BLEU of the EMA's weights."""
        with ema.swapped():
            return self._dev_scores()

    def _dev_scores(self) -> tuple[float, float | None]:
        """Dev loss (per target token) and BLEU (``None`` without it)."""
        batches = dev_batches(self.layout.data, self.config)
        if self._dev_step is None:  # one graph for batches of every shape, as the update's
            self._dev_step = tf.function(self._loss, input_signature=tuple(batches.element_spec))
        loss = dev_loss(self._dev_step, batches)
        bleu = dev_bleu(self.translate, self.dev_text) if self.translate and self.dev_text else None
        return loss, bleu

    def _log_validation(
        self, loss: float, bleu: float | None, extra: dict[str, Any]
    ) -> dict[str, Any]:
        recent = self._recent or [float("nan")]
        entry: dict[str, Any] = {
            "step": self.step,
            "epoch": int(self.state.epoch.numpy()),
            "train_loss": sum(recent) / len(recent),
            "dev_loss": loss,
            "learning_rate": self._learning_rate(),
            "tokens_per_second": self._rate,
        }
        if bleu is not None:
            entry["dev_bleu"] = bleu
        entry.update(extra)
        self._recent = []
        write_validation(entry, self.layout.train_log, self.writer)
        return entry

    def train(self) -> TrainResult:
        """Train until ``epochs``, ``max_steps`` or early stopping; keeps the best model.

        Raises ``WorkerLostError`` when another worker of the cluster is gone."""
        try:
            return self._train()
        except LOST_WORKER as err:
            if self.worker.count == 1:
                raise
            reason = str(err).strip().splitlines()[0][:300]
            raise WorkerLostError(
                f"worker {self.worker.index} of {self.worker.count} lost the cluster at step "
                f"{self.step} ({reason}); start every worker again: training resumes from the "
                "last checkpoint"
            ) from err

    def _train(self) -> TrainResult:
        try:
            if self._validation_due():
                self.validate()
            while not self._done():
                self._run_epoch()
        except KeyboardInterrupt:
            self.manager.save(self.step)
            log.warning("interrupted: checkpoint saved at step %d", self.step)
            raise
        if self.step > 0 and self._validated_step != self.step:
            self.validate()
        self.manager.save(self.step)
        bleu = float(self.state.best_score.numpy()) if self._uses_bleu else None
        result = TrainResult(
            self.step,
            int(self.state.epoch.numpy()),
            float(self.state.best_dev_loss.numpy()),
            bleu,
            self._rate,
            bool(self.state.stopped_early.numpy()),
        )
        log.info("training done: %s", json.dumps(asdict(result)))
        return result
