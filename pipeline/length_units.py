"""Sentence length in units that mean about a word in every script.

The cleaning filters (``max_tokens``, ``max_length_ratio``) compare lengths. A
whitespace token count works for scripts written with spaces between words, but
a Japanese, Chinese or Thai sentence has none, so it would count as one word.
Here each whitespace token counts 1 per run of characters of scripts written with
spaces (Latin, Cyrillic, Greek, Hangul, digits, punctuation, ...), and each
character of a script written without spaces counts a fraction of a word:

- Han (Chinese characters, kanji): 0.6;
- Hiragana and Katakana: 0.3;
- Thai, Lao, Khmer and Myanmar: 0.25.

The Han and kana weights make the median length of a WMT22 Chinese or Japanese
sentence 0.9 of its English side's word count (1.7 Han characters and about 2.4
Japanese characters per English word there); the South-East Asian weight is a
chosen value (about four characters to a word), not measured on a corpus here.
A line without any such character has exactly its whitespace token count, so
filters on Latin-script corpora decide as they always did.
"""

from __future__ import annotations

import re

# Unified ideographs and their extensions, compatibility ideographs, radicals,
# iteration marks and Hangzhou numerals.
_HAN = (
    "\u2e80-\u2fdf\u3005-\u3007\u3021-\u3029\u3038-\u303b\u3400-\u4dbf\u4e00-\u9fff"
    "\uf900-\ufaff\U00020000-\U000323af"
)
_KANA = "\u3040-\u30ff\u31f0-\u31ff\uff66-\uff9f\U0001b000-\U0001b16f"
_SOUTH_EAST_ASIAN = "\u0e00-\u0eff\u1000-\u109f\u1780-\u17ff"
WEIGHTS = ((_HAN, 0.6), (_KANA, 0.3), (_SOUTH_EAST_ASIAN, 0.25))

_UNSEGMENTED = re.compile(f"[{_HAN}{_KANA}{_SOUTH_EAST_ASIAN}]")
_SCRIPTS = [(re.compile(f"[{chars}]"), weight) for chars, weight in WEIGHTS]


def length_units(text: str) -> float:
    """The length of ``text`` in word units (its whitespace token count if it has no
    character of a script written without spaces)."""
    if text.isascii() or not _UNSEGMENTED.search(text):
        return len(text.split())
    units = 0.0
    for token in text.split():
        units += len(_UNSEGMENTED.sub(" ", token).split())
        for pattern, weight in _SCRIPTS:
            units += weight * len(pattern.findall(token))
    return units
