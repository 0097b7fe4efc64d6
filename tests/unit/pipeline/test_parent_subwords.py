"""A parent's SentencePiece models, copied instead of trained."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
import sentencepiece as spm

from pipeline.config import SentencePieceConfig
from pipeline.errors import CorpusError
from pipeline.parent_subwords import reuse_sentencepiece
from pipeline.subwords import train_sentencepiece

SENTENCES = [f"the {w} cat sees {n} small birds ." for w in ("black", "red") for n in range(40)]


@pytest.fixture
def parent(tmp_path: Path) -> Path:
    """A parent's models, trained by preprocessing's own step (separate source and target)."""
    text = tmp_path / "train.txt"
    text.write_text("\n".join(SENTENCES) + "\n", encoding="utf-8")
    config = SentencePieceConfig(vocab_size=40, joint=False, character_coverage=1.0)
    train_sentencepiece(text, text, config, tmp_path / "parent")
    return tmp_path / "parent"


def test_the_parents_models_are_copied_with_their_vocab_files(parent: Path, tmp_path: Path) -> None:
    out = tmp_path / "child"
    out.mkdir()
    stats = reuse_sentencepiece(
        str(parent / "source.model"), str(parent / "target.model"), str(out)
    )
    for name in ("source.model", "source.vocab", "target.model", "target.vocab"):
        assert (out / name).read_bytes() == (parent / name).read_bytes(), name
    processor = spm.SentencePieceProcessor(model_file=str(parent / "source.model"))
    assert stats["source_vocab_size"] == stats["target_vocab_size"] == processor.get_piece_size()
    assert stats["reused_from"] == {
        "source": str(parent / "source.model"),
        "target": str(parent / "target.model"),
    }
    assert stats["joint"] == (
        (parent / "source.model").read_bytes() == (parent / "target.model").read_bytes()
    )


def test_a_model_with_other_special_ids_is_refused(parent: Path, tmp_path: Path) -> None:
    writer = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(SENTENCES), model_writer=writer, vocab_size=30, minloglevel=2
    )  # SentencePiece's own ids: unk=0, bos=1, eos=2, no pad
    other = tmp_path / "other.model"
    other.write_bytes(writer.getvalue())
    with pytest.raises(CorpusError, match=f"{other}: special ids"):
        reuse_sentencepiece(str(parent / "source.model"), str(other), str(tmp_path))
