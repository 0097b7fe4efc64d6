"""What the stages module costs a process that trains, evaluates or exports."""

from __future__ import annotations

import subprocess
import sys


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
