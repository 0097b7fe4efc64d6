"""The contract between stages: folder and file names, and version folders."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.contract import (
    DataLayout,
    RunLayout,
    epoch_copy,
    resolve_model,
    resolve_version,
    sampled_copy,
    sampled_split,
    tfrecord_file,
    tfrecord_glob,
    version_folders,
)


def test_data_layout_names() -> None:
    layout = DataLayout("out", "en", "es")
    assert layout.texts("dev") == ("out/text/dev.en", "out/text/dev.es")
    assert layout.model("target") == "out/sentencepiece/target.model"
    assert layout.tfrecord("train", 3, 12) == "out/tfrecords/train-00003-of-00012.tfrecord"
    assert (layout.rejects, layout.stats) == ("out/rejects.tsv", "out/stats.json")
    assert layout.work("encode", "x") == "out/.work/encode/x"


def test_sampled_copies_are_splits_of_their_own() -> None:
    name = tfrecord_file(sampled_split(3), 1, 4)
    assert name == "train.sampled-03-00001-of-00004.tfrecord"
    assert sampled_copy(name) == 3 and sampled_copy(tfrecord_file("train", 1, 4)) is None
    assert not Path(name).match(tfrecord_glob("train"))
    assert [epoch_copy(e, 3) for e in range(5)] == [0, 1, 2, 0, 1]


def test_run_layout_names_the_data_folder_like_the_data_layout() -> None:
    run = RunLayout(Path("runs/x"))
    data = DataLayout(str(run.data), "en", "es")
    assert str(run.source_spm) == data.model("source")
    assert str(run.target_spm) == data.model("target")
    assert (str(run.split_text("test", "en")), str(run.split_text("test", "es"))) == data.texts(
        "test"
    )
    assert run.config_copy == Path("runs/x/config.yaml")


def test_version_folders_and_resolution(tmp_path: Path) -> None:
    for name in ("1", "3", "10", ".staging-11-5", "notes"):
        (tmp_path / name).mkdir()
    (tmp_path / "7").write_text("a file, not a folder")
    (tmp_path / "10" / "saved_model.pb").write_bytes(b"")
    assert version_folders(tmp_path) == [1, 3, 10]
    assert version_folders(tmp_path, complete=True) == [10]
    assert version_folders(tmp_path / "missing") == []
    assert resolve_version(tmp_path, None) == tmp_path / "10"
    assert resolve_version(tmp_path, 10) == tmp_path / "10"
    with pytest.raises(FileNotFoundError, match="no SavedModel for version 3"):
        resolve_version(tmp_path, 3)
    with pytest.raises(FileNotFoundError, match="no version folders"):
        resolve_version(tmp_path / "missing", None)
    assert resolve_model(tmp_path) == tmp_path / "10"
    assert resolve_model(tmp_path / "10") == tmp_path / "10"
    with pytest.raises(FileNotFoundError, match="no version folders"):
        resolve_model(tmp_path / "missing")
