"""L-best sampling of SentencePiece segmentations: repeatable, varied, lossless, Kudo's weights."""

from __future__ import annotations

import io
import math
from pathlib import Path
from typing import Any

import pytest
import sentencepiece as spm

from pipeline.config import SubwordSamplingConfig
from pipeline.sample_corpus import write_corpus
from pipeline.subword_sampling import (
    LBestSampler,
    choose,
    lattice_scores,
    sentence_key,
    uniform,
    user_defined_ids,
)

SAMPLING = SubwordSamplingConfig(copies=2, nbest_size=8, alpha=0.1, seed=1)


def _train(sentences: list[str], vocab_size: int = 200, **options: object) -> Any:
    model = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(sentences),
        model_writer=model,
        vocab_size=vocab_size,
        model_type="unigram",
        character_coverage=1.0,
        normalization_rule_name="identity",
        minloglevel=2,
        num_threads=1,
        **options,
    )
    return spm.SentencePieceProcessor(model_proto=model.getvalue())


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    source, _ = write_corpus(tmp_path_factory.mktemp("corpus"), 300, 5)
    return Path(source).read_text(encoding="utf-8").splitlines()


@pytest.fixture(scope="module")
def processor(corpus: list[str]) -> spm.SentencePieceProcessor:
    return _train(corpus)


def _copy(sampler: LBestSampler, corpus: list[str], copy: int) -> list[list[int]]:
    return [sampler.sample(s, sentence_key("source", s, ""), copy) for s in corpus]


def test_copies_differ_repeat_and_decode_to_the_sentence(
    processor: spm.SentencePieceProcessor, corpus: list[str]
) -> None:
    sampler = LBestSampler(processor, SAMPLING)
    first, second = _copy(sampler, corpus, 0), _copy(sampler, corpus, 1)
    assert first != second
    assert sum(a != b for a, b in zip(first, second, strict=True)) > len(corpus) // 10
    standard = processor.encode(corpus)
    assert first != standard  # not simply the best segmentation
    for sentence, a, b in zip(corpus, first, second, strict=True):
        assert processor.decode(a) == sentence == processor.decode(b)
    again = LBestSampler(_train(corpus), SAMPLING)  # another model load, another sampler
    assert _copy(again, corpus, 0) == first and _copy(again, corpus, 1) == second


def test_the_seed_changes_the_copies(
    processor: spm.SentencePieceProcessor, corpus: list[str]
) -> None:
    sampler = LBestSampler(processor, SAMPLING)
    other = LBestSampler(processor, SubwordSamplingConfig(copies=2, nbest_size=8, seed=2))
    assert _copy(sampler, corpus, 0) != _copy(other, corpus, 0)


def test_a_sentences_draw_does_not_depend_on_the_others(
    processor: spm.SentencePieceProcessor, corpus: list[str]
) -> None:
    sampler = LBestSampler(processor, SAMPLING)
    forward = _copy(sampler, corpus, 1)
    backward = _copy(sampler, corpus[::-1], 1)
    assert forward == backward[::-1]


def test_lattice_scores_rank_like_sentencepiece(
    processor: spm.SentencePieceProcessor, corpus: list[str]
) -> None:
    """Score differences between a sentence's segmentations are SentencePiece's own, also
    with unknown characters and byte fallback (which add a constant per sentence)."""
    fallback = _train(corpus, vocab_size=400, byte_fallback=True)
    sentences = [*corpus[:50], "El perro ☃ € come"]
    for model in (processor, fallback):
        sampler = LBestSampler(model, SAMPLING)
        assert lattice_scores(model) is not None
        for sentence in sentences:
            segmentations, scores = sampler.nbest(sentence)
            proto = model.NBestEncode(sentence, nbest_size=8, out_type="proto").nbests
            assert segmentations == [[p.id for p in n.pieces] for n in proto]
            for ours, theirs in zip(scores, proto, strict=True):
                assert ours - scores[0] == pytest.approx(theirs.score - proto[0].score, abs=1e-3)


def test_user_defined_symbols_are_never_split(corpus: list[str]) -> None:
    model = _train(corpus, user_defined_symbols=["<x>", "the"])
    assert lattice_scores(model) is None
    symbols = {model.piece_to_id("<x>"), model.piece_to_id("the")}
    assert user_defined_ids(model) == symbols
    sampler = LBestSampler(model, SAMPLING)
    sentences = [f"{s} <x> the" for s in corpus[:40]]
    everything = model.NBestEncode(sentences, nbest_size=8, out_type=int)
    assert any(not symbols <= set(ids) for nbest in everything for ids in nbest)  # split
    for copy in range(2):
        for sentence in sentences:
            ids = sampler.sample(sentence, b"key", copy)
            assert model.decode(ids) == sentence and symbols <= set(ids)


def test_choose_follows_the_smoothed_distribution() -> None:
    log_probs, alpha = [-1.0, -2.0, -4.0], 0.5
    assert choose(log_probs, alpha, 0.0) == 0
    assert choose(log_probs, alpha, 0.999999) == 2
    draws = [choose(log_probs, alpha, uniform(1, 0, b"%d" % i)) for i in range(4000)]
    weights = [math.exp(alpha * lp) for lp in log_probs]
    for index, weight in enumerate(weights):
        expected = weight / sum(weights)
        assert draws.count(index) / len(draws) == pytest.approx(expected, abs=0.03)


def test_uniform_depends_on_seed_copy_and_key_only() -> None:
    u = uniform(1, 0, b"a")
    assert 0.0 <= u < 1.0 and u == uniform(1, 0, b"a")
    assert len({u, uniform(2, 0, b"a"), uniform(1, 1, b"a"), uniform(1, 0, b"b")}) == 4
    assert sentence_key("source", "a", "b") != sentence_key("target", "a", "b")
