"""``nmt ensemble``: members that differ only in their seed, trained on one preprocessing and
exported as one ensemble; a second call resumes every step instead of repeating it."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from core.contract import ASSETS_EXTRA_DIR, METADATA_ASSET, RunLayout
from nmt.cli import main
from nmt.config import load_config
from nmt.ensemble_training import member_configs
from tests.conftest import fingerprint


def test_members_differ_only_in_seed_and_run_folder() -> None:
    config = load_config(Path("configs/tiny.yaml"))
    first, second, third = member_configs(config, 3)
    assert first is config
    seed = config.train.seed
    assert [second.train.seed, third.train.seed] == [seed + 1, seed + 2]
    assert second.experiment == f"{config.experiment}_seed{seed + 1}"
    assert second.run_dir.parent == config.run_dir.parent
    assert second.export_dir != config.export_dir  # never exported on its own
    for member in (second, third):
        assert member.model == config.model and member.data == config.data
        assert member.decode == config.decode and member.export == config.export


def test_members_must_be_positive(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stop:
        main(["ensemble", "configs/tiny.yaml", "--members", "0"])
    assert stop.value.code == 2
    assert "must be >= 1" in capsys.readouterr().err


def _weights(run_dir: Path) -> list[np.ndarray]:
    best = tf.train.latest_checkpoint(str(RunLayout(run_dir).best))
    reader = tf.train.load_checkpoint(best)
    names = sorted(n for n in reader.get_variable_to_shape_map() if "/.ATTRIBUTES/" in n)
    return [reader.get_tensor(n) for n in names if "optimizer" not in n]


@pytest.mark.slow
def test_two_members_trained_and_exported_then_resumed(
    tiny_run: dict[str, Path], tmp_path: Path
) -> None:
    """The tiny run copied (trained: member 1 resumes at its last step), a second member
    trained with the next seed on a copy of its data, both in one export; a second call
    trains nothing again and exports the same ensemble as the next version.

    About a minute (slow tier): it trains a member, builds each export's graph twice, and the
    second export's gate translates the test split with the candidate and the served version;
    the resume is only shown by a second call on the same folders, so it is one test."""
    runs, models = tmp_path / "runs", tmp_path / "models"
    own = runs / "tiny"
    shutil.copytree(tiny_run["run_dir"], own, ignore=shutil.ignore_patterns(".lock", "eval"))
    argv = ["ensemble", str(tiny_run["config"]), "--members", "2"]
    argv += ["--set", f"run_root={runs}", "--set", f"export.base_dir={models}"]
    assert main(argv) == 0
    seed = load_config(tiny_run["config"]).train.seed
    other = runs / f"tiny_seed{seed + 1}"
    assert fingerprint(RunLayout(other).data) == fingerprint(RunLayout(own).data)
    assert load_config(RunLayout(other).config_copy).train.seed == seed + 1
    assert any(
        not np.array_equal(a, b) for a, b in zip(_weights(own), _weights(other), strict=True)
    )
    metadata = json.loads((models / "tiny" / "1" / ASSETS_EXTRA_DIR / METADATA_ASSET).read_text())
    assert [m["run_dir"] for m in metadata["members"]] == [str(own), str(other)]
    weights, log = _weights(other), RunLayout(other).train_log.read_text()

    assert main(argv) == 0
    assert RunLayout(other).train_log.read_text() == log  # not one more update or validation
    for before, after in zip(weights, _weights(other), strict=True):
        np.testing.assert_array_equal(before, after)
    again = json.loads((models / "tiny" / "2" / ASSETS_EXTRA_DIR / METADATA_ASSET).read_text())
    assert again["members"] == metadata["members"]
