"""What a language code says about its script: the defaults that depend on it.

Codes are BCP 47 or ISO 639 (``ja``, ``zh-Hans``, ``ja_JP``, ``jpn``); only the
primary subtag counts. A config value the user writes always wins over these.
"""

from __future__ import annotations

# Primary subtags (ISO 639-1 and -3) of languages written in CJK or Thai scripts.
_JAPANESE = ("ja", "jpn")
_CHINESE = ("zh", "zho", "chi", "cmn", "yue", "wuu")
_KOREAN = ("ko", "kor")
_THAI = ("th", "tha")
# SentencePiece's recommended coverage for languages with large character sets.
LARGE_CHARACTER_SET_COVERAGE = 0.9995
FULL_COVERAGE = 1.0


def primary_subtag(language: str) -> str:
    """``ja`` for ``ja``, ``JA-jp`` or ``ja_JP``."""
    return language.strip().lower().replace("_", "-").split("-")[0]


def default_character_coverage(*languages: str) -> float:
    """SentencePiece ``character_coverage``: 0.9995 if any language is Japanese, Chinese,
    Korean or Thai (rare characters become ``<unk>`` instead of taking vocabulary), else 1.0."""
    large = _JAPANESE + _CHINESE + _KOREAN + _THAI
    if any(primary_subtag(language) in large for language in languages):
        return LARGE_CHARACTER_SET_COVERAGE
    return FULL_COVERAGE


def bleu_tokenizer(language: str) -> str:
    """The tokenizer sacrebleu's BLEU chooses for target ``language`` when none is named:
    ``ja-mecab``, ``zh``, ``ko-mecab``, else ``13a`` (read from sacrebleu itself)."""
    from sacrebleu.metrics import BLEU

    return str(BLEU._TOKENIZER_MAP.get(sacrebleu_language(language), BLEU.TOKENIZER_DEFAULT))


def sacrebleu_language(language: str) -> str:
    """The code sacrebleu's BLEU keys its tokenizer choice on (``ja`` -> ``ja-mecab``,
    ``zh`` -> ``zh``, ``ko`` -> ``ko-mecab``, anything else -> ``13a``)."""
    subtag = primary_subtag(language)
    for code, family in (("ja", _JAPANESE), ("zh", _CHINESE), ("ko", _KOREAN)):
        if subtag in family:
            return code
    return subtag
