"""The PNG figures of the report, from synthetic data."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from seq2seq.evaluation.reports.figures import plot_attention, plot_training_curves, read_train_log

PNG = b"\x89PNG\r\n\x1a\n"


def test_training_curves_with_and_without_dev_bleu(tmp_path: Path) -> None:
    log = tmp_path / "train_log.jsonl"
    entries = [
        {"step": 10, "epoch": 1, "train_loss": 3.0, "dev_loss": 2.5},
        {"step": 20, "epoch": 2, "train_loss": 2.0, "dev_loss": 2.0, "dev_bleu": 12.5},
    ]
    log.write_text("\n".join(json.dumps(e) for e in entries) + "\nnot json\n\n", encoding="utf-8")
    assert read_train_log(log) == entries
    assert plot_training_curves(entries, tmp_path / "a.png")
    assert plot_training_curves(entries[:1], tmp_path / "b.png")
    assert (tmp_path / "a.png").read_bytes().startswith(PNG)
    # Two panels (with dev BLEU) make a wider picture than one.
    assert (tmp_path / "a.png").read_bytes()[16:20] > (tmp_path / "b.png").read_bytes()[16:20]
    assert not plot_training_curves([{"step": 1}], tmp_path / "c.png")
    assert not (tmp_path / "c.png").exists()


def test_attention_heatmap_is_a_deterministic_png(tmp_path: Path) -> None:
    weights = np.full((3, 4), 0.25, dtype=np.float32)
    pieces = (["▁the", "▁cat", ".", "</s>"], ["▁el", "▁gato", "</s>"])
    plot_attention(weights, *pieces, "line 1: el gato", tmp_path / "a.png")
    plot_attention(weights, *pieces, "line 1: el gato", tmp_path / "b.png")
    data = (tmp_path / "a.png").read_bytes()
    assert data.startswith(PNG) and data == (tmp_path / "b.png").read_bytes()
