"""SIGKILL at any moment, run the same command again: training resumes and completes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

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


@pytest.mark.slow
def test_sigkill_then_resume(tmp_path: Path) -> None:
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONPATH": str(REPO)}
    done = subprocess.run(nmt("preprocess", cwd=tmp_path), cwd=tmp_path, env=env, timeout=300)
    assert done.returncode == 0
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
