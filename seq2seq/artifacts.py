"""Where each stage's artifacts live inside a run directory, in one place."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class RunLayout:
    """Paths inside ``runs/<experiment>/``."""

    root: Path

    @property
    def data(self) -> Path:
        """Preprocessing outputs (text, SentencePiece models, TFRecords, stats)."""
        return self.root / "data"

    @property
    def source_spm(self) -> Path:
        return self.data / "sentencepiece" / "source.model"

    @property
    def target_spm(self) -> Path:
        return self.data / "sentencepiece" / "target.model"

    def split_text(self, split: str, lang: str) -> Path:
        """Cleaned text of one side of a split: ``data/text/<split>.<lang>``."""
        return self.data / "text" / f"{split}.{lang}"

    @property
    def checkpoints(self) -> Path:
        """Rolling training checkpoints, for resuming."""
        return self.root / "checkpoints"

    @property
    def best(self) -> Path:
        """Checkpoint folder of the model with the best dev score (BLEU, or loss)."""
        return self.root / "best"

    @property
    def tensorboard(self) -> Path:
        """TensorBoard event files."""
        return self.root / "tensorboard"

    @property
    def train_log(self) -> Path:
        """One JSON object per validation: step, epoch, losses, dev BLEU, rate, throughput."""
        return self.root / "train_log.jsonl"

    @property
    def eval_dir(self) -> Path:
        return self.root / "eval"

    @property
    def config_copy(self) -> Path:
        """The resolved config the run used."""
        return self.root / "config.yaml"
