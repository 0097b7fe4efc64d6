"""Warn about input lines longer than the exported model reads.

The model keeps the first ``max_input_length - 1`` source pieces of a line
(plus end-of-sentence) and silently drops the rest. This module counts pieces
the way the model does (the export's normalisation, then its SentencePiece
model from ``assets.extra/``) and reports every line that will be cut, so
nobody mistakes a translation of half a paragraph for a translation of all of it.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

log = logging.getLogger("serving.length_check")
# The entities the export's normalisation unescapes (``&amp;`` last), as in training.
_ENTITIES = (("&lt;", "<"), ("&gt;", ">"), ("&quot;", '"'), ("&#39;", "'"), ("&apos;", "'"))
_SPACES = re.compile(r"[\t\n\f\r ]+")  # RE2's \s: ASCII whitespace only, as in the graph


def normalize(text: str, unicode_form: str = "NFC", unescape_html: bool = True) -> str:
    """The export's input normalisation: Unicode form, HTML entities, whitespace."""
    if unicode_form in ("NFC", "NFD", "NFKC", "NFKD"):
        text = unicodedata.normalize(unicode_form, text)  # type: ignore[arg-type]
    if unescape_html:
        for entity, char in _ENTITIES:
            text = text.replace(entity, char)
        text = text.replace("&amp;", "&")
    return _SPACES.sub(" ", text).strip(" \t\n\v\f\r")


class LengthChecker:
    """Counts source pieces per line and reports lines the model will truncate."""

    def __init__(
        self,
        count_pieces: Callable[[list[str]], list[int]],
        max_input_length: int,
        report: Callable[[str], None],
        max_reports: int = 10,
        normalization: tuple[str, bool] = ("NFC", True),
    ) -> None:
        self.count_pieces = count_pieces
        self.max_pieces = max_input_length - 1  # one position is the end-of-sentence
        self.max_input_length = max_input_length
        self.report = report
        self.max_reports = max_reports
        self.normalization = normalization
        self.truncated = 0

    @classmethod
    def from_export(cls, path: Path, report: Callable[[str], None]) -> LengthChecker | None:
        """A checker for the export at ``path``, or ``None`` if it lacks the assets."""
        extra = path / "assets.extra"
        try:
            config = _read_config(extra / "config.yaml")
            max_length = int(config["export"]["max_input_length"])
            spm = (extra / "source.model").read_bytes()
        except (OSError, KeyError, TypeError, ValueError) as err:
            log.warning("%s: cannot check input lengths: %s", path, err)
            return None
        cleaning = config.get("data", {}).get("cleaning", {})
        normalization = (cleaning.get("unicode_form", "NFC"), cleaning.get("unescape_html", True))
        return cls(_piece_counter(spm), max_length, report, normalization=normalization)

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
        texts = [normalize(line, *self.normalization) for line in lines]
        for offset, count in enumerate(self.count_pieces(texts)):
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


def _piece_counter(spm: bytes) -> Callable[[list[str]], list[int]]:
    """Pieces per text with the export's source SentencePiece model (tensorflow-text)."""
    import tensorflow as tf
    import tensorflow_text as tf_text

    tokenizer = tf_text.SentencepieceTokenizer(model=spm, out_type=tf.int32)

    def count(texts: list[str]) -> list[int]:
        lengths = tokenizer.tokenize(tf.constant(texts, tf.string)).row_lengths()
        return [int(n) for n in lengths.numpy()]

    return count
