"""Only the chief's checkpoints land in the run folder; other workers' saves leave nothing."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
import tensorflow as tf

from seq2seq.worker_checkpoints import WorkerCheckpoints


def test_chief_saves_into_the_folder_others_leave_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    weight = tf.Variable([1.0, 2.0])
    checkpoint = tf.train.Checkpoint(weight=weight)
    folder = tmp_path / "checkpoints"
    chief = WorkerCheckpoints(checkpoint, folder, 2, chief=True)
    other = WorkerCheckpoints(checkpoint, folder, 2, chief=False)
    assert other.latest is None
    other.save(3)
    assert not folder.exists() and not any(scratch.iterdir())
    for step in (3, 6, 9):
        chief.save(step)
        other.save(step)
    assert other.latest == chief.latest == str(folder / "ckpt-9")
    assert sorted(p.name for p in folder.glob("*.index")) == ["ckpt-6.index", "ckpt-9.index"]
    assert not any(scratch.iterdir())
