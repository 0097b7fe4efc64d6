"""SIGKILL at any moment, run the same command again: training resumes and completes, with
the weights and validation log of a run that was never killed."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]
OVERRIDES = ["--set", "train.max_steps=40", "--set", "train.checkpoint_every=5"]
OVERRIDES += ["--set", "train.validate_every=20", "--set", "train.epochs=50"]


def nmt(*args: str, cwd: Path) -> list[str]:
    return [sys.executable, "-m", "nmt.cli", *args, str(REPO / "configs/tiny.yaml"), *OVERRIDES]


def latest_step(checkpoints: Path) -> int:
    state = checkpoints / "checkpoint"
    if not state.exists():
        return 0
    for line in state.read_text().splitlines():
        if line.startswith("model_checkpoint_path"):
            return int(line.split("-")[-1].rstrip('"'))
    return 0


def validations(run_dir: Path) -> list[tuple[int, float]]:
    lines = (run_dir / "train_log.jsonl").read_text().splitlines()
    return [(entry["step"], entry["dev_loss"]) for entry in map(json.loads, lines)]


def final_values(checkpoints: Path) -> dict[str, np.ndarray]:
    """Every weight, optimizer slot and counter of the latest checkpoint."""
    import tensorflow as tf

    reader = tf.train.load_checkpoint(str(checkpoints))
    names = reader.get_variable_to_shape_map()
    return {n: reader.get_tensor(n) for n in names if "save_counter" not in n and "GRAPH" not in n}


@pytest.mark.slow
def test_sigkill_then_resume(tiny_run: dict[str, Path], tmp_path: Path) -> None:
    """Killed after a checkpoint, run again: the weights and validation log of a run never killed.

    About a minute: three training processes of 40 steps (the uninterrupted reference, the
    killed run and its resumption), each starting TensorFlow; fewer steps would not leave room
    to kill between two checkpoints and validations."""
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONPATH": str(REPO)}
    reference = tmp_path / "reference"
    for root in (tmp_path, reference):  # the tiny config's preprocessed data
        shutil.copytree(tiny_run["run_dir"] / "data", root / "runs" / "tiny" / "data")
    uninterrupted = subprocess.Popen(
        nmt("train", cwd=reference), cwd=reference, env=env, stderr=subprocess.DEVNULL
    )
    checkpoints = tmp_path / "runs" / "tiny" / "checkpoints"
    process = subprocess.Popen(
        nmt("train", cwd=tmp_path), cwd=tmp_path, env=env, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 300
    while latest_step(checkpoints) < 10 and process.poll() is None:
        assert time.monotonic() < deadline, "no checkpoint appeared"
        time.sleep(0.2)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=60)
    killed_at = latest_step(checkpoints)
    assert 10 <= killed_at < 40

    resumed = subprocess.run(
        nmt("train", cwd=tmp_path),
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert f"at step {killed_at}" in resumed.stderr
    assert latest_step(checkpoints) == 40
    log = [
        json.loads(line)
        for line in (checkpoints.parent / "train_log.jsonl").read_text().splitlines()
    ]
    assert log[-1]["step"] == 40
    assert uninterrupted.wait(timeout=600) == 0
    assert validations(checkpoints.parent) == validations(reference / "runs" / "tiny")
    expected = final_values(reference / "runs" / "tiny" / "checkpoints")
    got = final_values(checkpoints)
    assert got.keys() == expected.keys()
    for name, value in expected.items():
        np.testing.assert_array_equal(got[name], value, err_msg=name)  # bitwise, as in-process
