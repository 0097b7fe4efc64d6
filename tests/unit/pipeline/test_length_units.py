"""Length units for every script, and the cleaning filters that use them."""

from __future__ import annotations

import pytest

from pipeline.cleaning import rejection_reason
from pipeline.config import CleaningConfig
from pipeline.length_units import length_units


@pytest.mark.parametrize(
    ("text", "units"),
    [
        ("the black cat eats the fish .", 7),
        ("Ünïcödé wörds, façade — naïve", 5),
        ("", 0),
        ("한국어는 띄어쓰기를 합니다 .", 4),  # Hangul is written with spaces: whitespace tokens
        ("東京は日本の首都です。", 6 * 0.6 + 4 * 0.3 + 1),  # kanji, kana, the full stop
        ("2020年に東京でWi-Fiを使った", 2 + 4 * 0.6 + 5 * 0.3),  # 2020, Wi-Fi: a word each
        ("我爱北京天安门，它很大。", 10 * 0.6 + 2),  # the two punctuation marks are runs
        ("ภาษาไทย ง่าย", 11 * 0.25),  # code points, vowel and tone marks included
        ("ｶﾀｶﾅ ＡＢＣ", 4 * 0.3 + 1),
    ],
)
def test_length_units_on_mixed_scripts(text: str, units: float) -> None:
    assert length_units(text) == pytest.approx(units)


def test_latin_lines_count_exactly_their_whitespace_tokens() -> None:
    for text in ("a", "a b  c", "l'été est là !", "Straße 12 — Köln"):
        assert length_units(text) == len(text.split())


def test_a_clean_japanese_pair_is_kept_and_a_misaligned_one_rejected() -> None:
    config = CleaningConfig()
    english = "Tokyo is the capital of Japan ."
    assert rejection_reason(english, "東京は日本の首都です。", config) == ""
    assert rejection_reason(english, "はい。", config) == "length_ratio"
    runaway = "東京は日本の首都です。" * 30  # 30 sentences on one line: 126 units
    assert rejection_reason(english * 30, runaway, config) == "too_long"
    assert (
        rejection_reason("Yes .", "我爱北京天安门，它很大，我们明天去看看吧。", config)
        == "length_ratio"
    )
