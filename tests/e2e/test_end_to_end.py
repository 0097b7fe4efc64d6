"""The whole pipeline through the ``nmt`` command, then serving from the export alone."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
NMT = [sys.executable, "-m", "nmt.cli"]
SENTENCES = ["the black cats eat the fish .", "", "my sister will not open the red windows ."]


def run(
    args: list[str], cwd: Path, stdin: str | None = None, quiet: bool = True
) -> subprocess.CompletedProcess[str]:
    """``args`` in a fresh process; ``quiet=False`` leaves ``TF_CPP_MIN_LOG_LEVEL`` unset, so
    that the command must keep TensorFlow's native notices off the terminal itself."""
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONPATH": str(REPO)}
    if not quiet:
        del env["TF_CPP_MIN_LOG_LEVEL"]
    return subprocess.run(
        args, cwd=cwd, input=stdin, capture_output=True, text=True, env=env, timeout=600
    )


def startup_logs(stderr: str) -> list[str]:
    """TensorFlow's native start-up lines (oneDNN and CUDA notices) in ``stderr``."""
    marks = ("absl::InitializeLog", "port.cc:", "cudart_stub.cc:", "cuInit")
    return [line for line in stderr.splitlines() if any(m in line for m in marks)]


def test_run_then_translate_from_the_export_alone(
    tiny_run: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``nmt run configs/tiny.yaml`` (the session's tiny run, built by the command) wrote every
    stage's output; a copy of the export alone, with no run folder, translates in a fresh
    process that prints nothing but the translations (no SentencePiece or oneDNN notices, with
    ``TF_CPP_MIN_LOG_LEVEL`` unset), and exporting without the run folder is a user error."""
    build = json.loads(tiny_run["build"].read_text(encoding="utf-8"))
    assert build["returncode"] == 0, build["stderr"][-3000:]
    assert not startup_logs(build["stderr"]), build["stderr"][:3000]
    run_dir = tiny_run["run_dir"]
    stats = json.loads((run_dir / "data" / "stats.json").read_text())
    assert stats["corpora"]["sample"]["input"] == 400
    report = json.loads((run_dir / "eval" / "report.json").read_text())
    for key in ("bleu", "chrf", "ter", "bleu_signature", "chrf_signature", "ter_signature"):
        assert key in report
    assert report["sentences"] == stats["splits"]["test"]
    assert Path(report["hypotheses"]).exists()
    export = tiny_run["export_base"] / "1"
    assert (export / "saved_model.pb").exists()
    assert (export / "assets.extra" / "metadata.json").exists()

    shutil.copytree(export, tmp_path / "serving" / "models" / "tiny" / "1")
    served = run(
        [sys.executable, "-m", "serving.translate", "--model", "serving/models/tiny"],
        cwd=tmp_path,
        stdin="\n".join(SENTENCES) + "\n",
        quiet=False,
    )
    assert served.returncode == 0, served.stderr[-3000:]
    assert served.stderr == ""
    lines = served.stdout.split("\n")
    assert len(lines) == len(SENTENCES) + 1 and lines[-1] == ""
    assert lines[1] == ""
    assert lines[0].strip() and lines[2].strip()

    # Without the run directory there is nothing left to export from: a user error (checked in
    # this process: the command's own handling, with TensorFlow loaded already).
    from nmt import cli

    config = tmp_path / "config.yaml"
    config.write_text(tiny_run["config"].read_text(encoding="utf-8"), encoding="utf-8")
    overrides = ["--set", f"run_root={tmp_path / 'runs'}"]
    overrides += ["--set", f"export.base_dir={tmp_path / 'serving' / 'models'}"]
    assert cli.main(["export", str(config), *overrides]) == 2
    assert "run train first" in capsys.readouterr().err
    assert not (tmp_path / "serving" / "models" / "tiny" / "2").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["run", "absent.yaml"], "absent.yaml: config file not found"),
        (["train", "configs/tiny.yaml", "--set", "model.cell=rnn"], "valid options: lstm, gru"),
        (["preprocess", "configs/tiny.yaml", "--set", "modle.x=1"], "unknown key(s) 'modle'"),
    ],
)
def test_user_errors_print_one_line_and_exit_2(args: list[str], message: str) -> None:
    result = run([*NMT, *args], cwd=REPO)
    assert result.returncode == 2
    lines = [line for line in result.stderr.splitlines() if line.startswith("nmt: error:")]
    assert len(lines) == 1 and message in lines[0]
    assert "Traceback" not in result.stderr


def test_missing_corpus_path_is_a_user_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """In this process (TensorFlow and Beam are loaded already): the command's own handling."""
    from nmt import cli

    monkeypatch.chdir(tmp_path)
    config = tmp_path / "c.yaml"
    config.write_text(
        "experiment: x\n"
        "data:\n"
        "  inputs:\n"
        "    - {name: c, format: aligned, source: nowhere.en, target: nowhere.de}\n",
        encoding="utf-8",
    )
    assert cli.main(["preprocess", str(config)]) == 2
    err = capsys.readouterr().err
    assert "nowhere.en" in err and "Traceback" not in err
