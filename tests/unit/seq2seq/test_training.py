"""Training options on the tiny run's data: a few steps each."""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from core.contract import RunLayout
from nmt.config import load_config
from seq2seq.run_models import restore_best
from seq2seq.training import Trainer


@pytest.fixture
def layout(tiny_run: dict[str, Path], tmp_path: Path) -> RunLayout:
    """A fresh run directory holding a copy of the tiny run's preprocessed data."""
    shutil.copytree(tiny_run["run_dir"] / "data", tmp_path / "data")
    return RunLayout(tmp_path)


@pytest.fixture(scope="module")
def one_step_run(tiny_run: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> RunLayout:
    """A run trained for one step on a copy of the tiny run's data (weights near their
    initial values, all in float16's normal range), read only by the tests that take it."""
    root = tmp_path_factory.mktemp("one_step")
    shutil.copytree(tiny_run["run_dir"] / "data", root / "data")
    model_config, train_config = settings(tiny_run, max_steps=1, dev_bleu=False)
    Trainer(model_config, train_config, RunLayout(root)).train()  # type: ignore[arg-type]
    return RunLayout(root)


def settings(tiny_run: dict[str, Path], **train: object) -> tuple[object, object]:
    config = load_config(tiny_run["config"])
    return config.model, dataclasses.replace(config.train, **train)


def test_token_batches_plateau_decay_and_early_stopping(
    tiny_run: dict[str, Path], layout: RunLayout
) -> None:
    model_config, train_config = settings(
        tiny_run,
        batch_unit="tokens",
        batch_size=1500,  # a handful of batches an epoch: three epochs make the point
        max_steps=0,
        epochs=6,
        learning_rate=1e-9,
        lr_decay="plateau",
        decay_patience=1,
        decay_factor=0.5,
        patience=2,
        dev_bleu=False,
    )
    result = Trainer(model_config, train_config, layout).train()  # type: ignore[arg-type]
    log = [json.loads(line) for line in layout.train_log.read_text().splitlines()]
    assert result.stopped_early and result.epochs < 6
    # With a vanishing learning rate dev loss hardly moves: every validation after the first
    # is "no better", so the rate halves each time until patience runs out.
    rates = [entry["learning_rate"] for entry in log]
    assert rates[-1] < rates[0]
    assert (layout.tensorboard).is_dir()
    assert restore_best(model_config, layout) is not None  # type: ignore[arg-type]


@pytest.mark.parametrize("precision", ["bfloat16", "float16"])
def test_restore_best_in_lower_precision(
    tiny_run: dict[str, Path], one_step_run: RunLayout, precision: str
) -> None:
    model_config, _ = settings(tiny_run)
    full = restore_best(model_config, one_step_run)  # type: ignore[arg-type]
    lowered = restore_best(model_config, one_step_run, precision)  # type: ignore[arg-type]
    assert lowered.decoder.output_projection.compute_dtype == precision
    assert [w.path for w in lowered.weights] == [w.path for w in full.weights]
    for low, high in zip(lowered.weights, full.weights, strict=True):
        assert low.dtype == precision
        expected = high.numpy().astype(np.float32)
        np.testing.assert_allclose(np.asarray(low.numpy(), np.float32), expected, rtol=1e-2)


@pytest.mark.parametrize("precision", ["mixed_float16", "mixed_bfloat16"])
def test_mixed_precision_step(tiny_run: dict[str, Path], layout: RunLayout, precision: str) -> None:
    model_config, train_config = settings(
        tiny_run, precision=precision, max_steps=2, dev_bleu=False
    )
    trainer = Trainer(model_config, train_config, layout)  # type: ignore[arg-type]
    assert trainer.model.decoder.output_projection.compute_dtype == precision[6:]
    assert all(v.dtype == "float32" for v in trainer.model.trainable_variables)
    result = trainer.train()
    assert result.steps == 2 and np.isfinite(result.best_dev_loss)


def test_optimizer_follows_config(tiny_run: dict[str, Path], layout: RunLayout) -> None:
    model_config, train_config = settings(tiny_run, adam_epsilon=1e-9, clip_norm=2.5)
    optimizer = Trainer(model_config, train_config, layout).optimizer  # type: ignore[arg-type]
    assert optimizer.epsilon == 1e-9 and optimizer.global_clipnorm == 2.5


def test_mirrored_strategy_matches_config(tiny_run: dict[str, Path], layout: RunLayout) -> None:
    model_config, train_config = settings(
        tiny_run, distribution="mirrored", max_steps=3, dev_bleu=False
    )
    trainer = Trainer(model_config, train_config, layout)  # type: ignore[arg-type]
    assert type(trainer.strategy).__name__ == "MirroredStrategy"
    assert trainer.train().steps == 3


def test_loss_counts_real_target_tokens_only(tiny_run: dict[str, Path], layout: RunLayout) -> None:
    """The output layer's filler rows (real tokens rounded up to 64) add nothing to the loss."""
    import tensorflow as tf

    from seq2seq.losses import token_losses

    model_config, train_config = settings(tiny_run, max_steps=1, dev_bleu=False)
    trainer = Trainer(model_config, train_config, layout)  # type: ignore[arg-type]
    source = tf.constant([[4, 5, 3], [6, 3, 0]])
    target_in = tf.constant([[2, 4, 5, 6], [2, 7, 0, 0]])
    target_out = tf.constant([[4, 5, 6, 3], [7, 3, 0, 0]])
    total, count = trainer._loss((source, target_in), target_out)
    full = trainer.model((source, target_in))
    real = tf.not_equal(target_out, 0)
    smoothing = train_config.label_smoothing  # type: ignore[attr-defined]
    expected = token_losses(
        tf.boolean_mask(full, real), tf.boolean_mask(target_out, real), smoothing
    )
    assert float(count) == 6.0
    np.testing.assert_allclose(float(total), float(tf.reduce_sum(expected)), rtol=1e-5)


def test_dev_batches_are_no_larger_than_training_batches(
    tiny_run: dict[str, Path], layout: RunLayout, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Dev loss is computed in batches of the training batch size and unit (tokens here),
    so validation never needs more memory per batch than a training step."""
    import seq2seq.training as training

    shapes: list[tuple[int, int]] = []

    def record(loss_fn: object, batches: object) -> float:
        for (source, _), target_out in batches:  # type: ignore[attr-defined]
            shapes.append((int(source.shape[0]), max(source.shape[1], target_out.shape[1])))
        return 1.0

    monkeypatch.setattr(training, "dev_loss", record)
    model_config, train_config = settings(
        tiny_run, batch_unit="tokens", batch_size=60, max_length=20, max_steps=1, dev_bleu=False
    )
    Trainer(model_config, train_config, layout).validate()  # type: ignore[arg-type]
    assert len(shapes) > 1
    assert all(rows * length <= 60 for rows, length in shapes), shapes
