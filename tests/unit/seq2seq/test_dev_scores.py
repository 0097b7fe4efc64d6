"""Dev BLEU during training."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from seq2seq.dev_scores import DevText, dev_bleu


def test_dev_bleu_does_not_repeat_sacrebleus_tokenized_data_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    lines = [f"the cat number {i} eats the fish ." for i in range(120)]  # looks tokenized
    (tmp_path / "dev.src").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (tmp_path / "dev.ref").write_text("\n".join(lines) + "\n", encoding="utf-8")
    text = DevText(tmp_path / "dev.src", tmp_path / "dev.ref")
    with caplog.at_level(logging.WARNING):
        assert dev_bleu(lambda batch: batch, text) == pytest.approx(100.0)
    assert not [r for r in caplog.records if r.name.startswith("sacrebleu")]
