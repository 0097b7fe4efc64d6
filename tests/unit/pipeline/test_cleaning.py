"""Normalization and filters of the cleaning step."""

from __future__ import annotations

import pytest

from pipeline.cleaning import clean_record, normalize, rejection_reason
from pipeline.config import CleaningConfig


def test_normalize_applies_each_enabled_step() -> None:
    config = CleaningConfig()
    assert normalize("  Tom &amp;\tJerry\u2028 ", config) == "Tom & Jerry"
    assert normalize("ﬁ e\u0301", CleaningConfig(unicode_form="NFKC")) == "fi é"
    assert normalize("e\u0301", CleaningConfig(unicode_form="none")) == "e\u0301"
    raw = CleaningConfig(unescape_html=False, normalize_whitespace=False)
    assert normalize(" a  &amp;\nb", raw) == " a  &amp; b"


@pytest.mark.parametrize(
    ("source", "target", "config", "reason"),
    [
        ("", "b", CleaningConfig(), "empty_source"),
        ("a", " ", CleaningConfig(), "empty_target"),
        ("a " * 5, "b", CleaningConfig(max_tokens=4, max_length_ratio=0), "too_long"),
        ("abcdef", "b", CleaningConfig(max_chars=5), "too_long"),
        ("a b c d", "b", CleaningConfig(max_length_ratio=3.0), "length_ratio"),
        ("a b c d", "b", CleaningConfig(max_length_ratio=0), ""),
        ("same", "same", CleaningConfig(), "source_equals_target"),
        ("same", "same", CleaningConfig(drop_source_equals_target=False), ""),
        ("a b c", "x y z", CleaningConfig(), ""),
    ],
)
def test_rejection_reason(source: str, target: str, config: CleaningConfig, reason: str) -> None:
    assert rejection_reason(source, target, config) == reason


def test_clean_record_normalizes_and_names_the_reject_reason() -> None:
    config = CleaningConfig()
    assert clean_record(("c", 1, " Hello &amp;  world ", "Hola &amp; mundo", ""), config) == (
        "c",
        1,
        "Hello & world",
        "Hola & mundo",
        "",
    )
    assert clean_record(("c", 2, "", "vacío", ""), config)[4] == "empty_source"
    assert clean_record(("c", 3, " bad", "", "invalid_utf8"), config) == (
        "c",
        3,
        " bad",
        "",
        "invalid_utf8",
    )
    assert clean_record(("c", 4, "same ", "same", ""), config)[4] == "source_equals_target"
