"""A run killed and resumed ends where the uninterrupted run ends.

"Killed" is simulated in the test process: an exception raised right after step k (or inside
the validation at step k) escapes ``Trainer.train`` without a checkpoint, as SIGKILL would;
the trainer is dropped, Keras' session cleared, and a new ``Trainer`` resumes through the
real checkpoint-loading path. ``tests/e2e/test_resume_after_kill.py`` does it with SIGKILL.
"""

from __future__ import annotations

import dataclasses
import json
import random
import shutil
from pathlib import Path
from typing import Any

import keras
import numpy as np
import pytest

from core.contract import RunLayout
from nmt.config import load_config
from seq2seq.config import AverageConfig
from seq2seq.parent_weights import ParentWeights
from seq2seq.training import Trainer

# The slow tier (make test-all, CI): runs are killed and resumed many times and compared
# bitwise with uninterrupted runs.
pytestmark = pytest.mark.slow

# Into the third epoch of about ten batches, checkpoints every 4 steps, validations every 6.
TRAIN = {"epochs": 3, "max_steps": 24, "checkpoint_every": 4, "validate_every": 6}
TRAIN |= {"dev_bleu": False, "tensorboard": False}
# With dropout on, a resumed run must match in its masks as well as its data order (the
# masks were the part that broke: a resumed process replayed step 0's).
DROPOUT = 0.3


class Killed(Exception):
    """Stands for SIGKILL: nothing is saved on the way out."""


def run(
    tiny_run: dict[str, Path],
    root: Path,
    dropout: float,
    kill_after: int | None = None,
    kill_in_validation: int | None = None,
    average: AverageConfig | None = None,
    parent: ParentWeights | None = None,
) -> list[np.ndarray] | None:
    """One training process on ``root``: its final weights (model, then optimizer, then the
    EMA's averages with ``average``), or None when it is killed after step ``kill_after`` or
    during the validation at that step. ``parent``: the weights a run without checkpoints
    starts from."""
    config = load_config(tiny_run["config"])
    model_config = dataclasses.replace(config.model, dropout=dropout)
    keras.backend.clear_session()  # a fresh process: no layer names or seeds left over
    train = dataclasses.replace(config.train, **TRAIN, average=average or AverageConfig())
    trainer = Trainer(model_config, train, RunLayout(root), parent=parent)
    after_step, validate = trainer._after_step, trainer.validate

    def killing_after_step(loss: float) -> bool:
        done = after_step(loss)
        if trainer.step == kill_after:
            raise Killed
        return done

    def killing_validate() -> dict[str, Any]:
        if trainer.step == kill_in_validation:
            raise Killed
        return validate()

    trainer._after_step = killing_after_step  # type: ignore[method-assign]
    trainer.validate = killing_validate  # type: ignore[method-assign]
    try:
        trainer.train()
    except Killed:
        return None
    averages = list(trainer.ema.averages.values()) if trainer.ema else []
    return [v.numpy() for v in trainer.model.weights + trainer.optimizer.variables + averages]


def fresh_root(tiny_run: dict[str, Path], root: Path) -> Path:
    shutil.copytree(tiny_run["run_dir"] / "data", root / "data")
    return root


def validations(root: Path) -> list[tuple[int, int, float]]:
    """(step, epoch, dev loss) of every entry of the run's validation log."""
    lines = RunLayout(root).train_log.read_text().splitlines()
    return [(e["step"], e["epoch"], e["dev_loss"]) for e in map(json.loads, lines)]


def assert_same_weights(resumed: list[np.ndarray], reference: list[np.ndarray]) -> None:
    # Bitwise, no tolerance: two uninterrupted runs on this CPU end bitwise equal
    # (test_uninterrupted_runs_agree), so any difference comes from the resume.
    assert len(resumed) == len(reference)
    for got, want in zip(resumed, reference, strict=True):
        np.testing.assert_array_equal(got, want)


@pytest.fixture(scope="module")
def reference(
    tiny_run: dict[str, Path], tmp_path_factory: pytest.TempPathFactory
) -> dict[float, tuple[list[np.ndarray], list[tuple[int, int, float]]]]:
    """Weights and validation log of an uninterrupted run with dropout (so that the masks,
    and not only the data order, must match after a resume)."""
    results = {}
    for dropout in (DROPOUT,):
        root = fresh_root(tiny_run, tmp_path_factory.mktemp("uninterrupted"))
        weights = run(tiny_run, root, dropout)
        assert weights is not None
        results[dropout] = (weights, validations(root))
    return results


def test_uninterrupted_runs_agree(
    tiny_run: dict[str, Path], tmp_path: Path, reference: dict[float, Any]
) -> None:
    """The baseline for the tolerance: a second uninterrupted run ends bitwise equal."""
    weights = run(tiny_run, fresh_root(tiny_run, tmp_path), DROPOUT)
    assert weights is not None
    assert_same_weights(weights, reference[DROPOUT][0])


def test_killed_and_resumed_at_random_steps(
    tiny_run: dict[str, Path], tmp_path: Path, reference: dict[float, Any]
) -> None:
    """Killed after two random steps, resumed each time: the same final weights and
    validation log, bitwise."""
    kills: list[int | None] = [*sorted(random.Random(2024).sample(range(1, 24), 2)), None]
    root = fresh_root(tiny_run, tmp_path)
    for kill in kills:
        weights = run(tiny_run, root, DROPOUT, kill_after=kill)
        assert (weights is None) == (kill is not None), kill
    assert weights is not None
    assert_same_weights(weights, reference[DROPOUT][0])
    assert validations(root) == reference[DROPOUT][1]


def test_validation_due_at_the_checkpoint_step_runs_after_resume(
    tiny_run: dict[str, Path], tmp_path: Path, reference: dict[float, Any]
) -> None:
    """Killed between the checkpoint at step 12 and the validation at step 12: the resumed
    process validates at 12 before going on, and the log has exactly one entry for 12."""
    root = fresh_root(tiny_run, tmp_path)
    assert run(tiny_run, root, DROPOUT, kill_in_validation=12) is None
    assert [step for step, _, _ in validations(root)] == [6]
    weights = run(tiny_run, root, DROPOUT)
    assert weights is not None
    assert validations(root) == reference[DROPOUT][1]
    assert [step for step, _, _ in validations(root)].count(12) == 1
    assert_same_weights(weights, reference[DROPOUT][0])


def test_killed_and_resumed_with_an_exponential_average(
    tiny_run: dict[str, Path], tmp_path: Path
) -> None:
    """The EMA is part of the checkpoint: a run killed after step 9 and resumed ends with the
    same averages (and weights, and validation log, which records the EMA's scores) as an
    uninterrupted one, bitwise."""
    ema = AverageConfig(method="ema", ema_decay=0.9)
    straight_root = fresh_root(tiny_run, tmp_path / "straight")
    straight = run(tiny_run, straight_root, DROPOUT, average=ema)
    root = fresh_root(tiny_run, tmp_path / "resumed")
    assert run(tiny_run, root, DROPOUT, kill_after=9, average=ema) is None
    resumed = run(tiny_run, root, DROPOUT, average=ema)
    assert straight is not None and resumed is not None
    assert_same_weights(resumed, straight)
    entries = [json.loads(line) for line in RunLayout(root).train_log.read_text().splitlines()]
    assert all("ema_dev_loss" in e and e["kept"] in ("ema", "weights") for e in entries)
    assert validations(root) == validations(straight_root)
