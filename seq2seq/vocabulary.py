"""Vocabulary sizes of the SentencePiece models a run was preprocessed with."""

from __future__ import annotations

from pathlib import Path

import sentencepiece as spm


def vocab_size(model_path: Path) -> int:
    """Number of pieces in a SentencePiece model file."""
    if not model_path.exists():
        raise FileNotFoundError(
            f"{model_path}: SentencePiece model not found; run preprocess first"
        )
    return int(spm.SentencePieceProcessor(model_file=str(model_path)).vocab_size())
