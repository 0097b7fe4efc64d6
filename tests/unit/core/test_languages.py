"""Defaults chosen by language code."""

from __future__ import annotations

import pytest

from core.languages import default_character_coverage, primary_subtag, sacrebleu_language
from pipeline.config import InputConfig, PreprocessConfig, SentencePieceConfig


def test_primary_subtag_reads_bcp47_and_posix_forms() -> None:
    assert [primary_subtag(c) for c in ("ja", "JA-jp", "ja_JP", " zh-Hans ")] == [
        "ja",
        "ja",
        "ja",
        "zh",
    ]


@pytest.mark.parametrize(
    ("languages", "coverage"),
    [
        (("en", "de"), 1.0),
        (("en", "ja"), 0.9995),
        (("zh-Hant", "en"), 0.9995),
        (("ko", "en"), 0.9995),
        (("tha", "en"), 0.9995),
        (("src", "tgt"), 1.0),
    ],
)
def test_character_coverage_by_language(languages: tuple[str, str], coverage: float) -> None:
    assert default_character_coverage(*languages) == coverage


def test_sacrebleu_language_names_the_tokenizer_family() -> None:
    assert [sacrebleu_language(c) for c in ("ja_JP", "jpn", "zh-Hans", "cmn", "ko", "de")] == [
        "ja",
        "ja",
        "zh",
        "zh",
        "ko",
        "de",
    ]


def config(source: str, target: str, coverage: float | None) -> PreprocessConfig:
    corpus = InputConfig(name="c", format="sample")
    pieces = SentencePieceConfig(character_coverage=coverage)
    return PreprocessConfig(
        source_lang=source, target_lang=target, inputs=(corpus,), sentencepiece=pieces
    )


def test_an_explicit_coverage_wins_over_the_language_default() -> None:
    assert config("en", "ja", None).sentencepiece.character_coverage == 0.9995
    assert config("en", "ja", 1.0).sentencepiece.character_coverage == 1.0
    assert config("en", "de", None).sentencepiece.character_coverage == 1.0
    assert config("en", "de", 0.98).sentencepiece.character_coverage == 0.98
    with pytest.raises(ValueError, match="character_coverage"):
        SentencePieceConfig(character_coverage=0.0)


@pytest.mark.parametrize(
    ("language", "tokenizer"),
    [("ja", "ja-mecab"), ("zh-Hans", "zh"), ("ko", "ko-mecab"), ("de", "13a"), ("tgt", "13a")],
)
def test_bleu_tokenizer_is_the_one_sacrebleu_chooses(language: str, tokenizer: str) -> None:
    from sacrebleu.metrics import BLEU

    from core.languages import bleu_tokenizer

    assert bleu_tokenizer(language) == tokenizer
    chosen = BLEU(trg_lang=sacrebleu_language(language)).tokenizer.signature()
    assert chosen == BLEU(tokenize=tokenizer).tokenizer.signature()
