"""The completeness record of a data folder: what training accepts."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.data_complete import IncompleteDataError, check_complete, completion_record


def folder(tmp_path: Path) -> Path:
    (tmp_path / "tfrecords").mkdir()
    (tmp_path / "tfrecords" / "train-00000-of-00001.tfrecord").write_bytes(b"x" * 10)
    (tmp_path / "stats.json").write_text("{}\n")
    sizes = {"tfrecords/train-00000-of-00001.tfrecord": 10, "stats.json": 3}
    (tmp_path / "complete.json").write_bytes(completion_record(sizes))
    return tmp_path


def test_a_complete_folder_is_accepted_and_the_record_is_deterministic(tmp_path: Path) -> None:
    check_complete(folder(tmp_path))
    assert completion_record({"b": 1, "a": 2}) == completion_record({"a": 2, "b": 1})


def test_missing_record_truncated_or_missing_file_are_refused(tmp_path: Path) -> None:
    data = folder(tmp_path)
    shard = data / "tfrecords" / "train-00000-of-00001.tfrecord"
    shard.write_bytes(b"x" * 4)
    with pytest.raises(IncompleteDataError, match="4 bytes, but preprocessing wrote 10"):
        check_complete(data)
    shard.unlink()
    with pytest.raises(IncompleteDataError, match="missing; run `nmt preprocess` again"):
        check_complete(data)
    (data / "complete.json").write_text('{"files": {"stats.json"')
    with pytest.raises(IncompleteDataError, match="unreadable"):
        check_complete(data)
    (data / "complete.json").unlink()
    with pytest.raises(IncompleteDataError, match=r"did not complete \(no complete.json\)"):
        check_complete(data)
