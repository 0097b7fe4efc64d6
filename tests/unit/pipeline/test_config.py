"""The ``data`` config sections: validation of subword sampling."""

from __future__ import annotations

import pytest

from core.config_fields import ConfigError, build_section
from pipeline.config import SentencePieceConfig, SubwordSamplingConfig


def test_subword_sampling_is_off_by_default_and_validated() -> None:
    assert SentencePieceConfig().subword_sampling.copies == 0
    for bad in ({"copies": -1}, {"nbest_size": 1}, {"alpha": -0.5}):
        with pytest.raises(ValueError):
            SubwordSamplingConfig(**bad)  # type: ignore[arg-type]


def test_bpe_refuses_sampled_copies_in_one_line() -> None:
    raw = {"model_type": "bpe", "subword_sampling": {"copies": 2}}
    with pytest.raises(ConfigError) as err:
        build_section(SentencePieceConfig, raw, "data.sentencepiece")
    message = str(err.value)
    assert "\n" not in message and message.startswith("data.sentencepiece:")
    assert "unigram" in message and "BPE-dropout is not built" in message
    off = build_section(SentencePieceConfig, {"model_type": "bpe"}, "data.sentencepiece")
    assert off.subword_sampling.copies == 0
