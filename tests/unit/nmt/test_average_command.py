"""``nmt average``: the last checkpoints averaged, kept as the best model only if better."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import tensorflow as tf

from core.contract import RunLayout
from nmt.cli import main


@pytest.fixture
def run_copy(tiny_run: dict[str, Path], tmp_path: Path) -> tuple[Path, Path]:
    """A copy of the tiny run (data, checkpoints, best model) and its run root."""
    shutil.copytree(tiny_run["run_dir"], tmp_path / tiny_run["run_dir"].name)
    return tiny_run["config"], tmp_path


def test_average_writes_the_mean_and_keeps_the_better_by_dev_bleu(
    run_copy: tuple[Path, Path],
) -> None:
    config, root = run_copy
    assert main(["average", str(config), "--set", f"run_root={root}", "--last", "2"]) == 0
    layout = RunLayout(next(p for p in root.iterdir() if p.is_dir()))
    newest = tf.train.get_checkpoint_state(str(layout.checkpoints)).all_model_checkpoint_paths
    step = int(newest[-1].rsplit("-", 1)[-1])
    assert tf.train.latest_checkpoint(str(layout.averaged)).endswith(f"-{step}")
    entry = json.loads(layout.train_log.read_text().splitlines()[-1])
    assert entry["average"] == "last" and entry["checkpoints"] == 2 and entry["step"] == step
    better = entry["averaged_dev_bleu"] > entry["best_dev_bleu"]
    assert entry["kept"] == ("averaged" if better else "best")
    best = tf.train.latest_checkpoint(str(layout.best))
    assert best.endswith(f"-{step}") or not better


def test_more_checkpoints_than_kept_is_a_user_error(
    run_copy: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    config, root = run_copy
    assert main(["average", str(config), "--set", f"run_root={root}", "--last", "99"]) == 2
    assert "fewer than the 99 to average" in capsys.readouterr().err


def test_last_must_be_positive(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stop:
        main(["average", "configs/tiny.yaml", "--last", "0"])
    assert stop.value.code == 2
    assert "must be >= 1" in capsys.readouterr().err
