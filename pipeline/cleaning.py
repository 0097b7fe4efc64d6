"""Normalization and per-pair filters.

``normalize`` applies the one normalisation of ``core.normalization`` (the same
steps the exported model applies to served text) with the settings of the
cleaning config. ``rejection_reason`` names the first filter a normalized pair fails, or ``""``;
``clean_record`` applies both to a read record.
"""

from __future__ import annotations

from core.normalization import normalize as normalize_text
from pipeline.config import CleaningConfig
from pipeline.length_units import length_units
from pipeline.readers import Record

EMPTY_SOURCE = "empty_source"
EMPTY_TARGET = "empty_target"
TOO_LONG = "too_long"
LENGTH_RATIO = "length_ratio"
SOURCE_EQUALS_TARGET = "source_equals_target"


def normalize(text: str, config: CleaningConfig) -> str:
    """``text`` after the normalization steps enabled in ``config``."""
    return normalize_text(text, config.normalization())


def _too_long(text: str, tokens: float, config: CleaningConfig) -> bool:
    too_many_tokens = 0 < config.max_tokens < tokens
    return too_many_tokens or 0 < config.max_chars < len(text)


def rejection_reason(source: str, target: str, config: CleaningConfig) -> str:
    """The reason a normalized pair is rejected, or ``""`` if it is kept.

    ``max_tokens``, ``max_chars`` and ``max_length_ratio`` values <= 0 disable
    their filter. Tokens are length units (``pipeline.length_units``): whitespace-separated
    words, and weighted characters of scripts written without spaces.
    """
    if not source.strip():
        return EMPTY_SOURCE
    if not target.strip():
        return EMPTY_TARGET
    n_src, n_tgt = length_units(source), length_units(target)
    if _too_long(source, n_src, config) or _too_long(target, n_tgt, config):
        return TOO_LONG
    ratio = max(n_src, n_tgt) / min(n_src, n_tgt)
    if config.max_length_ratio > 0 and ratio > config.max_length_ratio:
        return LENGTH_RATIO
    if config.drop_source_equals_target and source == target:
        return SOURCE_EQUALS_TARGET
    return ""


def clean_record(record: Record, config: CleaningConfig) -> Record:
    """A read record, normalized, with the reason it is rejected (``""`` if it is kept).

    Records that already carry a read problem are returned unchanged.
    """
    corpus, line, source, target, reason = record
    if reason:
        return record
    source, target = normalize(source, config), normalize(target, config)
    return corpus, line, source, target, rejection_reason(source, target, config)
