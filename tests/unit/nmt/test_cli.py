"""The ``nmt`` command: errors before TensorFlow, quiet logs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]


def test_config_errors_come_before_tensorflow_is_imported(tmp_path: Path) -> None:
    config = tmp_path / "bad.yaml"
    config.write_text("experiment: x\nmodel:\n  cell: tcn\n", encoding="utf-8")
    script = (
        "import sys\n"
        "from nmt.cli import main\n"
        f"status = main(['train', {str(config)!r}])\n"
        "print(status, 'tensorflow' in sys.modules)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=60
    )
    assert done.stdout.split() == ["2", "False"]
    assert done.stderr.count("\n") == 1 and "model.cell: invalid choice 'tcn'" in done.stderr


def test_run_on_a_training_cluster_is_refused_before_tensorflow(tmp_path: Path) -> None:
    cluster = {"worker": ["127.0.0.1:1", "127.0.0.1:2"]}
    tf_config = json.dumps({"cluster": cluster, "task": {"type": "worker", "index": 1}})
    script = (
        "import sys\n"
        "from nmt.cli import main\n"
        f"status = main(['run', {str(REPO / 'configs' / 'tiny.yaml')!r}])\n"
        "print(status, 'tensorflow' in sys.modules)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO), "TF_CONFIG": tf_config}
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        cwd=tmp_path,
    )
    assert done.stdout.split() == ["2", "False"]
    assert "nmt train` on every worker" in done.stderr
    assert not (tmp_path / "runs").exists()  # nothing locked or written


def test_a_refused_run_exits_with_the_gate_status_and_force_reaches_the_stages(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from nmt import cli, stages
    from seq2seq.gate import GateRefused

    forced: list[bool] = []

    def refuse(config: object, force: bool) -> None:
        forced.append(force)
        if not force:
            raise GateRefused("refused by the export gate: candidate BLEU 1.00; report: r.md")

    monkeypatch.setattr(stages, "run_all", refuse)
    args = ["run", str(REPO / "configs" / "tiny.yaml"), "--set", f"run_root={tmp_path}"]
    args += ["--set", f"export.base_dir={tmp_path / 'models'}"]
    assert cli.main(args) == cli.EXIT_GATE_REFUSED == 3
    assert capsys.readouterr().err.splitlines()[-1] == (
        "nmt: refused by the export gate: candidate BLEU 1.00; report: r.md"
    )
    assert cli.main([*args, "--force"]) == 0
    assert forced == [False, True]
