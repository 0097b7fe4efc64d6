"""Evaluation inputs: read like sacrebleu reads them; line counts checked with clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from seq2seq.evaluation.inputs import EvaluationError, read_lines, read_references
from seq2seq.evaluation.run import read_inputs


def write(path: Path, text: str) -> Path:
    path.write_bytes(text.encode("utf-8"))
    return path


def test_lines_are_read_like_sacrebleu(tmp_path: Path) -> None:
    path = write(tmp_path / "f", "a b  \r\nform\x0cfeed\u2028here\n\nlast without newline")
    assert read_lines(path) == ["a b", "form\x0cfeed\u2028here", "", "last without newline"]


def test_missing_and_undecodable_files_are_user_errors(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"absent\.txt: file not found"):
        read_lines(tmp_path / "absent.txt")
    bad = tmp_path / "latin1.txt"
    bad.write_bytes("caf\xe9\n".encode("latin-1"))
    with pytest.raises(EvaluationError, match=r"latin1\.txt: not valid UTF-8"):
        read_lines(bad)


def test_reference_files_with_different_line_counts_are_named(tmp_path: Path) -> None:
    one = write(tmp_path / "ref1", "a\nb\nc\n")
    two = write(tmp_path / "ref2", "a\nb\n")
    with pytest.raises(EvaluationError) as err:
        read_references([one, two])
    message = str(err.value)
    assert f"{one} (3 lines)" in message and f"{two} (2 lines)" in message
    with pytest.raises(EvaluationError, match="empty"):
        read_references([write(tmp_path / "empty", "")])


def test_source_and_baseline_counts_must_match_the_references(tmp_path: Path) -> None:
    ref = write(tmp_path / "ref", "a\nb\nc\n")
    short = write(tmp_path / "src", "a\nb\n")
    with pytest.raises(EvaluationError) as err:
        read_inputs(short, [ref])
    assert "has 2 lines" in str(err.value) and "have 3" in str(err.value)
    assert str(short) in str(err.value) and str(ref) in str(err.value)

    source = write(tmp_path / "src3", "x\ny\nz\n")
    baseline = write(tmp_path / "base", "1\n2\n3\n4\n")
    with pytest.raises(EvaluationError, match=r"baseline hypothesis file .*base has 4 lines"):
        read_inputs(source, [ref], baseline)


def test_empty_lines_are_kept_in_place(tmp_path: Path) -> None:
    ref = write(tmp_path / "ref", "a\n\nc\n")
    source = write(tmp_path / "src", "x\n\nz\n")
    baseline = write(tmp_path / "base", "\n\n\n")
    data = read_inputs(source, [ref], baseline)
    assert data.sources == ["x", "", "z"] and data.references == [["a", "", "c"]]
    assert data.baseline == ["", "", ""]
