"""The SentencePiece training sample."""

from __future__ import annotations

from pathlib import Path

from pipeline.subwords import training_sample


def test_training_sample_is_bounded_and_order_independent(tmp_path: Path) -> None:
    lines = [f"line {i}" for i in range(100)]
    (tmp_path / "a").write_text("\n".join(lines) + "\n")
    (tmp_path / "b").write_text("\n".join(reversed(lines)) + "\n")
    sample = training_sample([tmp_path / "a"], 10)
    assert len(sample) == 10
    assert sample == training_sample([tmp_path / "b"], 10)
