"""Normalization and per-pair filters.

``normalize`` applies, in order: HTML entity unescaping, Unicode normalization
and whitespace normalization. Characters that would break the one-sentence-per-
line text format (line and paragraph separators) always become spaces.
``rejection_reason`` names the first filter a normalized pair fails, or ``""``;
``clean_record`` applies both to a read record.
"""

from __future__ import annotations

import html
import re
import unicodedata
from typing import Any

from pipeline.config import CleaningConfig
from pipeline.readers import Record

EMPTY_SOURCE = "empty_source"
EMPTY_TARGET = "empty_target"
TOO_LONG = "too_long"
LENGTH_RATIO = "length_ratio"
SOURCE_EQUALS_TARGET = "source_equals_target"

# Every character that str.splitlines() treats as a line boundary.
_LINE_BREAKS = re.compile("[\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]")


def normalize(text: str, config: CleaningConfig) -> str:
    """``text`` after the normalization steps enabled in ``config``."""
    if config.unescape_html:
        text = html.unescape(text)
    if config.unicode_form != "none":
        form: Any = config.unicode_form
        text = unicodedata.normalize(form, text)
    text = _LINE_BREAKS.sub(" ", text)
    if config.normalize_whitespace:
        text = " ".join(text.split())
    return text


def _too_long(text: str, tokens: int, config: CleaningConfig) -> bool:
    too_many_tokens = 0 < config.max_tokens < tokens
    return too_many_tokens or 0 < config.max_chars < len(text)


def rejection_reason(source: str, target: str, config: CleaningConfig) -> str:
    """The reason a normalized pair is rejected, or ``""`` if it is kept.

    ``max_tokens``, ``max_chars`` and ``max_length_ratio`` values <= 0 disable
    their filter. Tokens are whitespace-separated words.
    """
    if not source.strip():
        return EMPTY_SOURCE
    if not target.strip():
        return EMPTY_TARGET
    n_src, n_tgt = len(source.split()), len(target.split())
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
