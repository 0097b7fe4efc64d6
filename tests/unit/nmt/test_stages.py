"""What the stages module costs a process that trains, evaluates or exports."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]


def test_training_side_imports_no_apache_beam() -> None:
    """Apache Beam loads only when the preprocessing stage runs."""
    code = (
        "import sys, nmt.stages, nmt.cli; "
        "print('apache_beam' in sys.modules); "
        "from pipeline.preprocess import run_preprocess; "
        "print('apache_beam' in sys.modules)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    assert done.stdout.split() == ["False", "True"]


def test_run_with_a_missing_baseline_stops_before_preprocessing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``nmt run`` with ``evaluate.baseline: served`` and nothing exported yet is one line and
    status 2 before any stage has run, not after training."""
    from nmt import cli

    sets = [f"run_root={tmp_path / 'runs'}", f"export.base_dir={tmp_path / 'models'}"]
    sets.append("evaluate.baseline=served")
    args = [str(REPO / "configs" / "tiny.yaml"), *(a for s in sets for a in ("--set", s))]
    assert cli.main(["run", *args]) == 2
    assert capsys.readouterr().err.strip().splitlines()[-1] == (
        f"nmt: error: baseline 'served': no version is served under {tmp_path / 'models' / 'tiny'}"
    )
    assert not (tmp_path / "runs" / "tiny" / "data").exists()
