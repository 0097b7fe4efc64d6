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


LOGGING_SCRIPT = """
import logging, sys
from core.startup_logs import configure_logging
configure_logging(verbose=sys.argv[1] == "verbose")
logging.getLogger("seq2seq.training").info("ours-info")
logging.getLogger("absl").info("absl-info")
logging.getLogger("tensorflow").warning("tf-warning")
logging.info("root-info")
"""


@pytest.mark.parametrize("mode", ["quiet", "verbose"])
def test_users_see_the_projects_messages_and_other_libraries_warnings(mode: str) -> None:
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    env["PYTHONPATH"] = str(REPO)
    done = subprocess.run(
        [sys.executable, "-c", LOGGING_SCRIPT, mode], capture_output=True, text=True, env=env
    )
    assert "ours-info" in done.stderr and "tf-warning" in done.stderr
    hidden_unless_verbose = ("absl-info" in done.stderr, "root-info" in done.stderr)
    assert hidden_unless_verbose == ((True, True) if mode == "verbose" else (False, False))


def test_beams_import_notice_is_not_shown() -> None:
    """Beam logs "apitools not found" on the root logger as its GCP clients are imported."""
    script = (
        "from core.startup_logs import configure_logging\n"
        "configure_logging(verbose=False)\n"
        "import apache_beam.io.gcp.internal.clients.bigquery\n"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env)
    assert done.returncode == 0 and done.stderr == ""
