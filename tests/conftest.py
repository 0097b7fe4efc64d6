"""Shared test settings: quiet TensorFlow, paths to the repository and real corpora."""

from __future__ import annotations

import os
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

REPO = Path(__file__).resolve().parent.parent
SHARED_DATA = REPO.parent / "shared" / "data"


import pytest  # noqa: E402


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Every stage of ``configs/tiny.yaml`` once per test session, in a temporary folder.

    Returns the paths ``config`` (the resolved YAML), ``run_dir`` and ``export_base``.
    """
    from nmt import stages
    from nmt.config import load_config

    root = tmp_path_factory.mktemp("tiny")
    overrides = (f"run_root={root / 'runs'}", f"export.base_dir={root / 'models'}")
    config = load_config(REPO / "configs" / "tiny.yaml", overrides)
    stages.run_all(config)
    return {
        "config": config.run_dir / "config.yaml",
        "run_dir": config.run_dir,
        "export_base": config.export_dir,
        "root": root,
    }
