"""Input lines longer than the exported model reads: counting their pieces, warning about them.

The model keeps the first ``max_input_length - 1`` source pieces of a line (plus
end-of-sentence) and silently drops the rest. This module counts pieces the way the
model does (the export's normalisation, ``core.normalization_graph`` with the settings
of its config, then its SentencePiece model from ``assets.extra/``). The serving
script reports every line that will be cut, so nobody mistakes a translation of half
a paragraph for a translation of all of it; batch translation on Beam rejects them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.contract import ASSETS_EXTRA_DIR, CONFIG_ASSET, SOURCE_MODEL_ASSET
from core.normalization import Normalization

log = logging.getLogger("core.length_check")


@dataclass(frozen=True)
class InputSettings:
    """What an export does to a line before its model reads it."""

    source_model: bytes  # the source SentencePiece model
    max_input_length: int  # pieces the model reads, end-of-sentence included
    normalization: Normalization

    @classmethod
    def read(cls, path: Path) -> InputSettings | None:
        """The settings in ``path/assets.extra``, or ``None`` (with a warning) if it lacks them."""
        extra = path / ASSETS_EXTRA_DIR
        try:
            config = _read_config(extra / CONFIG_ASSET)
            max_length = int(config["export"]["max_input_length"])
            spm = (extra / SOURCE_MODEL_ASSET).read_bytes()
        except (OSError, KeyError, TypeError, ValueError) as err:
            log.warning("%s: cannot check input lengths: %s", path, err)
            return None
        normalization = Normalization.from_mapping(config.get("data", {}).get("cleaning", {}))
        return cls(spm, max_length, normalization)

    @property
    def max_pieces(self) -> int:
        """Source pieces of a line the model reads whole (one position is end-of-sentence)."""
        return self.max_input_length - 1


class LengthChecker:
    """Counts source pieces per line and reports lines the model will truncate."""

    def __init__(
        self,
        count_pieces: Callable[[list[str]], list[int]],
        max_input_length: int,
        report: Callable[[str], None],
        max_reports: int = 10,
    ) -> None:
        """``count_pieces`` gives the source pieces of each raw line, normalised first."""
        self.count_pieces = count_pieces
        self.max_pieces = max_input_length - 1  # as InputSettings.max_pieces
        self.max_input_length = max_input_length
        self.report = report
        self.max_reports = max_reports
        self.truncated = 0

    @classmethod
    def for_export(cls, inputs: InputSettings, report: Callable[[str], None]) -> LengthChecker:
        """A checker that reads lines as the export does (``InputSettings.read``)."""
        counter = piece_counter(inputs)
        return cls(counter, inputs.max_input_length, report)

    def check(self, lines: Iterable[str], block: int = 256) -> Iterator[str]:
        """Yield ``lines`` unchanged, reporting over-long ones (``block`` lines at a time)."""
        buffer: list[str] = []
        number = 0
        for line in lines:
            buffer.append(line)
            if len(buffer) >= block:
                self._check_block(buffer, number)
                number += len(buffer)
                yield from buffer
                buffer = []
        if buffer:
            self._check_block(buffer, number)
            yield from buffer

    def _check_block(self, lines: list[str], first: int) -> None:
        for offset, count in enumerate(self.count_pieces(lines)):
            if count <= self.max_pieces:
                continue
            self.truncated += 1
            if self.truncated <= self.max_reports:
                self.report(
                    f"line {first + offset + 1} has {count} source pieces; the model reads "
                    f"only the first {self.max_pieces} (max_input_length "
                    f"{self.max_input_length}) and translates a truncated line"
                )

    def summary(self) -> str | None:
        """One line on how many lines were truncated, or ``None`` if none were."""
        if not self.truncated:
            return None
        return f"{self.truncated} line(s) were longer than the model reads and were truncated"


def _read_config(path: Path) -> dict[str, Any]:
    import yaml

    config = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(config, dict):
        raise ValueError(f"{path}: not a mapping")
    return config


def piece_counter(inputs: InputSettings) -> Callable[[list[str]], list[int]]:
    """Pieces per raw text: the export's normalisation, then its source SentencePiece model."""
    import tensorflow as tf
    import tensorflow_text as tf_text

    from core.normalization_graph import GraphNormalizer

    normalize = GraphNormalizer(inputs.normalization)
    tokenizer = tf_text.SentencepieceTokenizer(model=inputs.source_model, out_type=tf.int32)

    def count(texts: list[str]) -> list[int]:
        lengths = tokenizer.tokenize(normalize(tf.constant(texts, tf.string))).row_lengths()
        return [int(n) for n in lengths.numpy()]

    return count
