"""Native writes to standard error are discarded while TensorFlow starts, on request."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
SCRIPT = """
import os
from core.startup_logs import quiet_native_logs
os.write(2, b"before;")
with quiet_native_logs():
    os.write(2, b"inside;")
os.write(2, b"after;")
with quiet_native_logs():
    raise ValueError("raised inside")
"""


@pytest.mark.parametrize(("level", "inside"), [("2", False), ("3", False), ("0", True), ("", True)])
def test_quiet_native_logs(level: str, inside: bool) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO), "TF_CPP_MIN_LOG_LEVEL": level}
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, env=env, timeout=60
    )
    expected = "before;inside;after;" if inside else "before;after;"
    assert done.stderr.startswith(expected)
    # An error raised inside the block is still reported, after standard error is restored.
    assert done.returncode == 1 and "ValueError: raised inside" in done.stderr
