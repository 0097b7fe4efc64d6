"""Two ``nmt train`` on one run folder: the second exits at once, the first is untouched."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
TRAIN = ["--set", "train.dev_bleu=false", "--set", "train.checkpoint_every=2"]
ENV = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONPATH": str(REPO)}


def nmt(command: str, *overrides: str) -> list[str]:
    return [sys.executable, "-m", "nmt.cli", command, str(REPO / "configs/tiny.yaml"), *overrides]


@pytest.fixture(scope="module")
def preprocessed(tiny_run: dict[str, Path]) -> Path:
    """A folder whose ``runs/tiny/data`` holds the tiny config's preprocessed data (the
    session's tiny run, read only)."""
    return tiny_run["root"]


def fresh_run(preprocessed: Path, tmp_path: Path) -> Path:
    """A working folder with the preprocessed data and no training yet."""
    data = tmp_path / "runs" / "tiny" / "data"
    shutil.copytree(preprocessed / "runs" / "tiny" / "data", data)
    return tmp_path


def check_second(second: subprocess.CompletedProcess, first_pid: int) -> None:
    lines = second.stderr.strip().splitlines()
    assert second.returncode == 2, second.stderr[-2000:]
    assert len(lines) == 1 and lines[0].startswith("nmt: error: "), second.stderr
    assert f"in use by pid {first_pid} on host {socket.gethostname()}" in lines[0]


def check_first_finished(first: subprocess.Popen, run: Path, steps: int) -> None:
    _, err = first.communicate(timeout=240)
    assert first.returncode == 0, err[-3000:]
    log = [json.loads(line) for line in (run / "train_log.jsonl").read_text().splitlines()]
    logged = [entry["step"] for entry in log]
    assert logged == sorted(set(logged)) and logged[-1] == steps
    assert (run / ".lock").read_text() == ""


@pytest.mark.slow
def test_two_trainers_started_together(preprocessed: Path, tmp_path: Path) -> None:
    cwd = fresh_run(preprocessed, tmp_path)
    args = nmt("train", *TRAIN, "--set", "train.max_steps=4")
    opts = {"cwd": cwd, "env": ENV, "stderr": subprocess.PIPE, "text": True}
    one, two = subprocess.Popen(args, **opts), subprocess.Popen(args, **opts)
    outcomes = {}
    for process in (one, two):
        _, err = process.communicate(timeout=240)
        outcomes[process.pid] = (process.returncode, err)
    codes = sorted(code for code, _ in outcomes.values())
    assert codes == [0, 2], [err[-2000:] for _, err in outcomes.values()]
    winner = next(pid for pid, (code, _) in outcomes.items() if code == 0)
    loser = next(err for code, err in outcomes.values() if code == 2)
    check_second(subprocess.CompletedProcess(args, 2, "", loser), winner)
    run = cwd / "runs" / "tiny"
    logged = [
        json.loads(line)["step"] for line in (run / "train_log.jsonl").read_text().splitlines()
    ]
    assert logged == [4]


@pytest.mark.slow
def test_a_second_trainer_after_a_checkpoint_exists(preprocessed: Path, tmp_path: Path) -> None:
    cwd = fresh_run(preprocessed, tmp_path)
    run = cwd / "runs" / "tiny"
    opts = {"cwd": cwd, "env": ENV, "stderr": subprocess.PIPE, "text": True}
    first = subprocess.Popen(nmt("train", *TRAIN, "--set", "train.max_steps=12"), **opts)
    deadline = time.monotonic() + 180
    while not (run / "checkpoints" / "checkpoint").exists():
        assert first.poll() is None and time.monotonic() < deadline, "no checkpoint appeared"
        time.sleep(0.2)
    started = time.monotonic()
    second = subprocess.run(
        nmt("train", *TRAIN, "--set", "train.max_steps=12"),
        cwd=cwd,
        env=ENV,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert first.poll() is None, "the first trainer ended before the second was refused"
    assert time.monotonic() - started < 20  # refused before TensorFlow is even imported
    check_second(second, first.pid)
    check_first_finished(first, run, 12)
