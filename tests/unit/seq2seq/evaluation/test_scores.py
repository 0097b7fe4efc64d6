"""sacrebleu scores, seeded intervals, paired tests, buckets and sentence selections."""

from __future__ import annotations

import os
import random

import numpy as np
import pytest
from sacrebleu.metrics import BLEU, CHRF, TER
from sacrebleu.significance import PairedTest, Result, estimate_ci

from seq2seq.config import BleuVariant, EvaluateConfig
from seq2seq.evaluation.scores import (
    bucket_scores,
    corpus_scores,
    extremes,
    length_stats,
    paired_significance,
    sample_indices,
    sentence_chrf,
)

REFS = [["the cat sat on a mat .", "nothing here", "the dog barks", "Hello world!"]]
HYPS = ["the cat sat on the mat .", "", "a dog barks", "hello world"]
WORSE = ["the cat", "x", "the dog barks", "hello"]
FAST = EvaluateConfig(bootstrap=200, paired_samples=200)


def test_scores_equal_sacrebleu_objects_and_empty_hypotheses_count() -> None:
    scores = corpus_scores(HYPS, REFS, EvaluateConfig(bootstrap=0))
    assert scores["bleu"]["score"] == BLEU().corpus_score(HYPS, REFS).score
    assert scores["chrf"]["score"] == CHRF().corpus_score(HYPS, REFS).score
    assert scores["chrf++"]["score"] == CHRF(word_order=2).corpus_score(HYPS, REFS).score
    assert scores["ter"]["score"] == TER().corpus_score(HYPS, REFS).score
    assert scores["chrf++"]["name"] == "chrF2++" and scores["ter"]["higher_is_better"] is False
    assert scores["bleu"]["ci95"] is None and "bs:" not in scores["bleu"]["signature"]
    # The empty hypothesis is scored (it costs reference length), not skipped.
    skipped = BLEU().corpus_score([HYPS[0], *HYPS[2:]], [[REFS[0][0], *REFS[0][2:]]]).score
    assert scores["bleu"]["score"] != skipped
    assert length_stats(HYPS, REFS, FAST)["ref_length"] == 15


def test_all_empty_hypotheses_score_zero() -> None:
    scores = corpus_scores(["", "", "", ""], REFS, FAST)
    assert scores["bleu"]["score"] == 0.0 and scores["chrf"]["score"] == 0.0
    assert scores["ter"]["score"] == 100.0
    assert sentence_chrf(["", "", "", ""], REFS) == [0.0] * 4


def test_intervals_are_seeded_and_the_environment_is_restored() -> None:
    before = os.environ.get("SACREBLEU_SEED")
    first = corpus_scores(HYPS, REFS, FAST)
    assert corpus_scores(HYPS, REFS, FAST) == first
    other = corpus_scores(HYPS, REFS, EvaluateConfig(bootstrap=200, seed=7))
    assert other["chrf"]["ci95"] != first["chrf"]["ci95"]
    assert os.environ.get("SACREBLEU_SEED") == before
    assert "bs:200|seed:12345" in first["bleu"]["signature"]
    assert "μ = " in first["bleu"]["text"]


def test_resamples_scoring_zero_do_not_break_the_interval() -> None:
    # Some of these resamples have no unigram match (BLEU is a plain 0.0, the others numpy
    # float32): sacrebleu 2.6's BLEU().corpus_score(HYPS, REFS, n_bootstrap=1000) raises
    # TypeError there, and so does `sacrebleu --confidence`.
    scores = corpus_scores(HYPS, REFS, EvaluateConfig(bootstrap=1000))
    assert 0.0 < scores["bleu"]["ci95"]["mean"] < scores["bleu"]["score"]
    assert scores["bleu"]["ci95"]["halfwidth"] > 0.0


def test_tokenized_bleu_is_labelled_not_comparable() -> None:
    config = EvaluateConfig(bootstrap=0, extra_bleu=(BleuVariant("intl", True),))
    scores = corpus_scores(HYPS, REFS, config)
    extra = scores["bleu_intl_lc"]
    assert extra["comparable_with_default"] is False and "not comparable" in extra["label"]
    assert "tok:intl" in extra["signature"] and "case:lc" in extra["signature"]
    assert scores["bleu"]["comparable_with_default"] is True


def test_bleu_by_source_length_bucket() -> None:
    sources = ["a b c", "", "a " * 15, "a " * 50]
    buckets = bucket_scores(sources, HYPS, REFS, EvaluateConfig(length_buckets=(10, 20)))
    assert [b["label"] for b in buckets] == ["0-10", "11-20", "21+"]
    assert [b["sentences"] for b in buckets] == [2, 1, 1]
    first = BLEU().corpus_score([HYPS[0], HYPS[1]], [[REFS[0][0], REFS[0][1]]]).score
    assert buckets[0]["bleu"] == first
    empty = bucket_scores(["a"] * 4, HYPS, REFS, EvaluateConfig(length_buckets=(10,)))[1]
    assert empty["sentences"] == 0 and empty["bleu"] is None


def test_extremes_and_samples_are_deterministic() -> None:
    best, worst = extremes([5.0, 1.0, 5.0, 0.0], 2)
    assert best == [0, 2] and worst == [3, 1]
    assert sample_indices(100, 20, 3) == sample_indices(100, 20, 3)
    assert sample_indices(100, 20, 3) == sorted(sample_indices(100, 20, 3))
    assert sample_indices(5, 20, 3) == [0, 1, 2, 3, 4]


@pytest.mark.parametrize("test", ["bs", "ar"])
def test_paired_significance_against_a_worse_baseline(test: str) -> None:
    config = EvaluateConfig(paired_test=test, paired_samples=200)
    result = paired_significance(HYPS, WORSE, REFS, config)
    assert result["test"] == test and result["samples"] == 200 and result["seed"] == 12345
    bleu = result["metrics"]["bleu"]
    assert bleu["system"] == BLEU().corpus_score(HYPS, REFS).score
    assert bleu["baseline"] == BLEU().corpus_score(WORSE, REFS).score
    assert bleu["delta"] == pytest.approx(bleu["system"] - bleu["baseline"])
    assert 0.0 < bleu["p_value"] <= 1.0
    assert f"{test}:200" in bleu["signature"]
    assert result["metrics"]["ter"]["delta"] < 0
    assert paired_significance(HYPS, WORSE, REFS, config) == result


def _corpus(seed: int, lines: int = 40) -> tuple[list[str], list[str], list[str]]:
    """References, and two systems that change one word in 3 (system) or 2 (baseline)."""
    words = list("abcdefghijklmn.")  # one-letter words
    rng = random.Random(seed)
    refs = [" ".join(rng.choice(words) for _ in range(rng.randint(4, 12))) for _ in range(lines)]

    def noisy(every: int) -> list[str]:
        return [
            " ".join(w if rng.randrange(every) else rng.choice(words) for w in ref.split())
            for ref in refs
        ]

    return refs, noisy(3), noisy(2)


def _resampled_bleu(hyps: list[str], refs: list[str], rows: np.ndarray) -> np.ndarray:
    """Corpus BLEU (sacrebleu's public API) of each resample of line indices."""
    return np.array(
        [
            BLEU().corpus_score([hyps[i] for i in row], [[refs[i] for i in row]]).score
            for row in rows
        ]
    )


@pytest.mark.parametrize("test", ["bs", "ar"])
def test_paired_p_value_and_difference_interval_equal_sacrebleu_own(
    test: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    refs, system, baseline = _corpus(5)
    config = EvaluateConfig(paired_test=test, paired_samples=300, bootstrap=200, seed=7)
    ours = paired_significance(system, baseline, [refs], config)["metrics"]["bleu"]

    monkeypatch.setenv("SACREBLEU_SEED", "7")
    named = [("baseline", baseline), ("system", system)]
    paired = PairedTest(named, {"BLEU": BLEU()}, [refs], test_type=test, n_samples=300)
    _, table = paired()
    theirs = table["BLEU"][1]
    assert isinstance(theirs, Result)
    assert ours["p_value"] == theirs.p_value
    assert ours["delta"] == pytest.approx(
        theirs.score - BLEU().corpus_score(baseline, [refs]).score
    )

    # sacrebleu's resampling indices, every resample scored by its public corpus_score.
    resamples = 300 if test == "bs" else 200
    rows = np.random.default_rng(7).choice(len(refs), size=(resamples, len(refs)), replace=True)
    scores = _resampled_bleu(system, refs, rows)
    if test == "bs":  # the same resamples as sacrebleu's paired bootstrap test
        mean, halfwidth = estimate_ci(scores)
        assert theirs.mean == pytest.approx(mean, abs=1e-4)
        assert theirs.ci == pytest.approx(halfwidth, abs=1e-4)
    differences = np.sort(scores - _resampled_bleu(baseline, refs, rows))
    cut = resamples // 40
    assert ours["delta_ci95"] == pytest.approx(
        {
            "mean": differences.mean(),
            "low": differences[cut],
            "high": differences[resamples - cut - 1],
        },
        abs=1e-4,
    )
    assert ours["delta_ci95"]["low"] < ours["delta"] < ours["delta_ci95"]["high"]


def test_no_difference_interval_for_randomization_without_bootstrap() -> None:
    config = EvaluateConfig(paired_test="ar", paired_samples=100, bootstrap=0)
    result = paired_significance(HYPS, WORSE, REFS, config)
    assert result["interval_resamples"] == 0
    assert result["metrics"]["bleu"]["delta_ci95"] is None
