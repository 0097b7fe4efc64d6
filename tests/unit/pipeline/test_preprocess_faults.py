"""Preprocessing on a full disk and on an empty corpus: one line, and no data training accepts."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
ENV = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONPATH": str(REPO)}
TINY = str(REPO / "configs" / "tiny.yaml")

# Run ``nmt`` with one of the stage's writes failing half-way with ENOSPC.
FULL_DISK = """
import errno, os, sys
from core.startup_logs import configure_logging
configure_logging(False)  # before Beam is imported, as nmt does
import pipeline.encoding, pipeline.recordio

def full(path):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as handle:
        handle.write(b"partial")
    raise OSError(errno.ENOSPC, "No space left on device", path)

def full_shard(paths, destination):
    full(destination)

def full_text(self, lines):
    raise OSError(errno.ENOSPC, "No space left on device")

if sys.argv[1] == "shards":
    pipeline.encoding.concatenate = full_shard
else:
    pipeline.recordio.LineWriter.write = full_text
from nmt.cli import main
sys.exit(main(sys.argv[2:]))
"""


def nmt(cwd: Path, *args: str, script: str = "") -> subprocess.CompletedProcess:
    command = [sys.executable, "-c", script, *args] if script else [sys.executable, "-m", "nmt.cli"]
    if not script:
        command += args
    return subprocess.run(command, cwd=cwd, env=ENV, capture_output=True, text=True, timeout=120)


def error_lines(stderr: str) -> list[str]:
    assert "Traceback" not in stderr, stderr[-3000:]
    return [line for line in stderr.splitlines() if "error" in line.lower()]


@pytest.mark.parametrize("where", ["shards", "text"])
def test_a_full_disk_gives_one_line_and_no_data_that_training_accepts(
    tmp_path: Path, where: str
) -> None:
    failed = nmt(tmp_path, where, "preprocess", TINY, script=FULL_DISK)
    assert failed.returncode == 1
    lines = error_lines(failed.stderr)
    assert len(lines) == 1 and lines[0].startswith("nmt: error: "), failed.stderr[-3000:]
    assert "No space left on device" in lines[0]
    data = tmp_path / "runs" / "tiny" / "data"
    assert not (data / "complete.json").exists()
    assert not list(data.glob("tfrecords/*.tfrecord")) and not list(data.glob(".work"))
    if where == "text":
        return
    refused = nmt(tmp_path, "train", TINY)
    assert refused.returncode == 2
    assert refused.stderr.splitlines() == [
        "nmt: error: runs/tiny/data: preprocessing did not complete (no complete.json); "
        "run `nmt preprocess` again"
    ]


def test_an_empty_corpus_is_named_as_empty(tmp_path: Path) -> None:
    (tmp_path / "corpus.en").write_bytes(b"")
    (tmp_path / "corpus.es").write_bytes(b"")
    config = tmp_path / "empty.yaml"
    config.write_text(
        "experiment: empty\ndata:\n  source_lang: en\n  target_lang: es\n  inputs:\n"
        "    - {name: web, format: aligned, source: corpus.en, target: corpus.es}\n",
        encoding="utf-8",
    )
    done = nmt(tmp_path, "preprocess", str(config))
    assert done.returncode == 2
    source, target = tmp_path / "corpus.en", tmp_path / "corpus.es"
    assert done.stderr.splitlines() == [
        f"nmt: error: corpus 'web': {source} and {target} are empty"
    ], done.stderr[-2000:]
