"""The folder lock: one holder at a time, released by the OS, stale files taken over."""

from __future__ import annotations

import json
import logging
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from core.run_lock import FolderLockedError, folder_lock

REPO = Path(__file__).resolve().parents[3]


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait(timeout=30)
    return child.pid


def test_a_held_lock_names_its_holder_and_is_released_when_it_dies(tmp_path: Path) -> None:
    lock = tmp_path / "run" / ".lock"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, pathlib\n"
            "from core.run_lock import folder_lock\n"
            f"with folder_lock(pathlib.Path({str(lock)!r}), 'nmt train x.yaml'):\n"
            "    print('locked', flush=True)\n"
            "    sys.stdin.read()\n",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=REPO,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        with pytest.raises(FolderLockedError) as err, folder_lock(lock):
            pass
        message = str(err.value)
        assert "\n" not in message
        assert f"pid {holder.pid} on host {socket.gethostname()}" in message
        assert "nmt train x.yaml" in message and str(lock.parent) in message
    finally:
        holder.kill()
        holder.wait(timeout=30)
    with folder_lock(lock):  # SIGKILL released it
        assert json.loads(lock.read_text())["pid"] != holder.pid


def test_a_stale_lock_file_of_a_dead_process_is_taken_over(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    lock = tmp_path / ".lock"
    dead = _dead_pid()
    stale = {"pid": dead, "host": socket.gethostname(), "command": "nmt train", "since": "then"}
    lock.write_text(json.dumps(stale) + "\n")
    with caplog.at_level(logging.WARNING, logger="nmt"), folder_lock(lock):
        held = json.loads(lock.read_text())
    assert held["pid"] != dead and held["host"] == socket.gethostname()
    assert f"pid {dead}" in caplog.text and "no longer running" in caplog.text
    assert lock.read_text() == ""  # released cleanly: nothing to take over next time


def test_nested_blocks_of_one_process_share_the_lock(tmp_path: Path) -> None:
    lock = tmp_path / ".lock"
    with folder_lock(lock), folder_lock(lock):
        assert json.loads(lock.read_text())["command"]
    with folder_lock(lock):
        pass
